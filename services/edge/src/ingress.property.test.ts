import { decodeRequestHead, encodeResponseHead } from "@onramp/mux";
import { createEdgeMetrics, silentLogger } from "@onramp/telemetry";
import fc from "fast-check";
import type { Server } from "node:http";
import { connect, type AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClientConnections } from "./client-connections.js";
import { parseEndpointUrl } from "./endpoint-url.js";
import { fakeAgentConnection, type FakeAgentBehaviour } from "./fake-agent.js";
import { createHttpIngress } from "./http-ingress.js";
import { HttpProxy } from "./http-proxy.js";
import { RequestTelemetry } from "./request-telemetry.js";
import { RoutingTable, type Member } from "./routing-table.js";

const MAX_HEADER_BYTES = 8 * 1024;

/** The agent's answers are marked, so the property can tell them from the edge's own. */
const answerMarked: FakeAgentBehaviour = (stream, head) => {
  const req = decodeRequestHead(head);
  const status = req.path.includes("fail") ? 503 : 200;
  stream.sendHead(encodeResponseHead({ status, statusText: "From Agent", headers: ["x-from-agent", "1"], body: Buffer.from(`hello ${req.path}`) }), true);
};

const closers: Array<() => void> = [];
let port = 0;

beforeAll(async () => {
  const table = new RoutingTable("eu");
  const agent = await fakeAgentConnection(answerMarked);
  closers.push(agent.close);
  const member: Member = { id: "m0", bindId: "b0", edge: "edge-a", region: "eu", agentId: "agent-1", sessionId: "s0", upstream: "", local: true, policy: undefined, opener: () => agent.connection };
  table.addMember(parseEndpointUrl("http://app.test"), false, member);
  const telemetry = new RequestTelemetry(createEdgeMetrics(), silentLogger(), undefined, "eu", { accessLog: false });
  const proxy = new HttpProxy(table, { maxRequestBodyBytes: 64 * 1024, inlineBodyBytes: 16 * 1024 }, telemetry, silentLogger());
  const options = { maxHeaderBytes: MAX_HEADER_BYTES, headerTimeoutMs: 5_000, normalizePath: true, mergeSlashes: true };
  const server: Server = createHttpIngress(proxy, table, options, new ClientConnections(), silentLogger());
  // A client's FIN normally aborts its requests; here it only marks the last one, so a test can
  // half-close after its bytes and read every answer until the edge closes (Node's socketOnEnd).
  (server as Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  closers.push(() => {
    server.closeAllConnections();
    server.close();
  });
  port = (server.address() as AddressInfo).port;
});

afterAll(() => {
  for (const c of closers.splice(0)) c();
});

/** Writes `bytes`, half-closes, and returns everything the edge wrote until it closed. */
function exchange(bytes: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const got: Buffer[] = [];
    socket.on("data", (d) => got.push(d));
    socket.on("error", (err: NodeJS.ErrnoException) => (err.code === "ECONNRESET" || err.code === "EPIPE" ? undefined : reject(err)));
    socket.on("close", () => resolve(Buffer.concat(got)));
    socket.end(bytes);
  });
}

interface Response {
  status: number;
  headers: Map<string, string[]>;
}

/**
 * Parses the responses in `wire`, failing on anything that is not HTTP/1.1. A HEAD's answer has
 * no body whatever its Content-Length, so a body that would not be followed by another response
 * or the end is taken as absent.
 */
function parseResponses(wire: Buffer): Response[] {
  const text = wire.toString("latin1");
  const out: Response[] = [];
  let at = 0;
  while (at < text.length) {
    const headEnd = text.indexOf("\r\n\r\n", at);
    expect(headEnd, `no end of head in ${JSON.stringify(text.slice(at, at + 200))}`).toBeGreaterThan(at);
    const [statusLine, ...lines] = text.slice(at, headEnd).split("\r\n");
    const m = /^HTTP\/1\.1 ([1-5]\d\d) [^\r\n]*$/.exec(statusLine!);
    expect(m, `status line ${JSON.stringify(statusLine)}`).not.toBeNull();
    const headers = new Map<string, string[]>();
    for (const line of lines) {
      const h = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+): ?([^\r\n]*)$/.exec(line);
      expect(h, `header line ${JSON.stringify(line)}`).not.toBeNull();
      const name = h![1]!.toLowerCase();
      headers.set(name, [...(headers.get(name) ?? []), h![2]!]);
    }
    const status = Number(m![1]);
    out.push({ status, headers });
    at = headEnd + 4;
    if (status < 200 && status !== 101) continue;
    if (status === 204 || status === 304 || status === 101) continue;
    const length = headers.get("content-length");
    const chunked = headers.get("transfer-encoding")?.some((v) => /chunked/i.test(v));
    if (length) {
      expect(length).toHaveLength(1);
      const n = Number(length[0]);
      expect(Number.isSafeInteger(n) && n >= 0).toBe(true);
      const next = at + n;
      const headless = at === text.length || (text.startsWith("HTTP/1.1 ", at) && next !== text.length && !text.startsWith("HTTP/1.1 ", next));
      if (!headless) at = next;
      expect(at, "body shorter than its Content-Length").toBeLessThanOrEqual(text.length);
    } else if (chunked) {
      for (;;) {
        const lineEnd = text.indexOf("\r\n", at);
        if (lineEnd < 0) return out; // cut off mid-body: the edge gave up on the request
        const size = parseInt(text.slice(at, lineEnd), 16);
        expect(Number.isNaN(size)).toBe(false);
        at = lineEnd + 2 + size + 2;
        if (size === 0) break;
      }
    } else {
      return out; // read to close
    }
  }
  return out;
}

const TARGETS = ["/", "/a/b?x=1", "*", "//", "/%2e%2e/admin", "/a/./b/../c", "/%zz", "/a%2Fb", "http://app.test/x", "HTTP://APP.TEST:80/y", "http://evil.test/z", "/fail", "/a\\b", "/#frag", "ftp://app.test/", "x", "/%", "/..", "/./."];
const METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH", "CONNECT", "PRI", "get", "BREW", "G\u00c9T", ""];

const token = fc.string({ unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz-_0123456789".split("")), minLength: 1, maxLength: 12 });
const headerValue = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.constantFrom("chunked", "gzip, chunked", "chunked, gzip", "identity", "0", "5", "-1", "1e3", "10, 10", "app.test", "other.test", "100-continue", "upgrade", "websocket", "close"),
  fc.integer({ min: 1, max: 12 * 1024 }).map((n) => "v".repeat(n)),
);
const header = fc.oneof(
  { weight: 3, arbitrary: fc.tuple(fc.constantFrom("Content-Length", "Transfer-Encoding", "Expect", "Connection", "Upgrade", "X-Dup", "host", "content-length"), headerValue) },
  { weight: 3, arbitrary: fc.tuple(token, headerValue) },
  { weight: 1, arbitrary: fc.tuple(fc.string({ maxLength: 6 }), fc.string({ maxLength: 6 })) },
);

const request = fc
  .record({
    method: fc.oneof({ weight: 5, arbitrary: fc.constantFrom("GET", "HEAD", "POST", "OPTIONS") }, { weight: 2, arbitrary: fc.constantFrom(...METHODS) }, { weight: 1, arbitrary: token }),
    target: fc.oneof(
      { weight: 3, arbitrary: fc.constantFrom(...TARGETS) },
      { weight: 2, arbitrary: fc.array(fc.constantFrom("a", ".", "..", "", "%2e", "%41", "%2F", "fail", "x?y=1"), { maxLength: 5 }).map((s) => `/${s.join("/")}`) },
      { weight: 1, arbitrary: fc.string({ maxLength: 20 }).map((s) => `/${s}`) },
      { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
    ),
    version: fc.constantFrom("HTTP/1.1", "HTTP/1.1", "HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/1.1 ", "http/1.1"),
    host: fc.constantFrom(["Host", "app.test"], ["Host", "app.test"], ["Host", "nobody.test"], undefined),
    headers: fc.oneof(fc.constant([]), fc.array(header, { maxLength: 4 })),
    body: fc.oneof({ weight: 3, arbitrary: fc.constant("") }, { weight: 1, arbitrary: fc.string({ maxLength: 40 }) }, { weight: 1, arbitrary: fc.constant("5\r\nhello\r\n0\r\n\r\n") }),
    eol: fc.constantFrom("\r\n", "\r\n", "\r\n", "\n"),
  })
  .map(({ method, target, version, host, headers, body, eol }) => {
    const all = host ? [host, ...headers] : headers;
    return Buffer.from(`${method} ${target} ${version}${eol}${all.map(([n, v]) => `${n}: ${v}${eol}`).join("")}${eol}${body}`, "latin1");
  });

/** A request with bytes flipped, cut or inserted; or raw noise; or several requests pipelined. */
const wire = fc.oneof(
  { weight: 4, arbitrary: request },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)) },
  { weight: 1, arbitrary: fc.array(request, { minLength: 2, maxLength: 3 }).map((r) => Buffer.concat(r)) },
  {
    weight: 2,
    arbitrary: fc.tuple(request, fc.nat(), fc.uint8Array({ maxLength: 4 }), fc.boolean()).map(([r, at, bytes, cut]) => {
      const i = at % (r.length + 1);
      return cut ? r.subarray(0, i) : Buffer.concat([r.subarray(0, i), bytes, r.subarray(i)]);
    }),
  },
);

describe("the HTTP ingress on random and mutated requests (property)", () => {
  it("answers only well-formed HTTP, with an Onramp-Error-Code on every error of its own", async () => {
    const seen = { agent: 0, edgeErrors: 0 };
    await fc.assert(
      fc.asyncProperty(wire, async (bytes) => {
        for (const r of parseResponses(await exchange(bytes))) {
          if (r.headers.has("x-from-agent")) seen.agent++;
          else if (r.status >= 400) {
            seen.edgeErrors++;
            expect(r.headers.get("onramp-error-code"), `status ${r.status}`).toBeDefined();
          }
        }
      }),
      { numRuns: 300 },
    );
    // The run reached both the agent and the edge's refusals, not only one of them.
    expect(seen.agent).toBeGreaterThan(0);
    expect(seen.edgeErrors).toBeGreaterThan(0);
  });

  // Found by the property above: Node answered `Expect: <anything but 100-continue>` with a bare 417.
  it("serves a request whose Expect it does not support as if it had none", async () => {
    const [r] = parseResponses(await exchange(Buffer.from("GET / HTTP/1.1\r\nHost: app.test\r\nExpect: x\r\nConnection: close\r\n\r\n")));
    expect(r?.status).toBe(200);
    expect(r!.headers.get("x-from-agent")).toEqual(["1"]);
  });

  it("still serves a normal request afterwards", async () => {
    const [r] = parseResponses(await exchange(Buffer.from("GET /ok HTTP/1.1\r\nHost: app.test\r\nConnection: close\r\n\r\n")));
    expect(r).toMatchObject({ status: 200 });
    expect(r!.headers.get("x-from-agent")).toEqual(["1"]);
  });
});
