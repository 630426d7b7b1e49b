import { mkdtempSync, writeFileSync } from "node:fs";
import type { IncomingMessage } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAgent, startEdge, type AgentProcess, type EdgeProcess } from "./harness/cluster.js";
import { stopAll } from "./harness/processes.js";
import { startUpstream, type Upstream } from "./harness/upstream.js";
import { within } from "./harness/within.js";

// The public listener against what an adversarial client sends: request targets spelled to slip
// past a path rule, ambiguous heads, methods the edge does not serve, and clients too slow on
// purpose. Raw sockets, since Node's client would not send most of this.

const dir = mkdtempSync(join(tmpdir(), "onramp-ingress-"));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const noAdmin = file("no-admin.yml", `
on_http_request:
  - name: no admin
    expressions: ["req.url.path.startsWith('/admin')"]
    actions: [{type: deny}]
`);

let upstream: Upstream;
/** Default normalisation; 1 s header and body timeouts. */
let edge: EdgeProcess;
let app: AgentProcess;
/** --no-normalize-path on the command line, merge_slashes: false in its config file. */
let plainEdge: EdgeProcess;
let plain: AgentProcess;

beforeAll(async () => {
  upstream = await startUpstream();
  [edge, plainEdge] = await Promise.all([
    startEdge(["--header-timeout", "1s", "--body-timeout", "1s"]),
    startEdge(["--no-normalize-path", "--config", file("edge.yml", "merge_slashes: false\n")], "edge-plain"),
  ]);
  [app, plain] = await Promise.all([
    startAgent(edge, upstream.target, ["--url", "http://app.e2e.localhost", "--traffic-policy-file", noAdmin], "agent-app"),
    startAgent(plainEdge, upstream.target, ["--url", "http://plain.e2e.localhost", "--traffic-policy-file", noAdmin], "agent-plain"),
  ]);
});

afterAll(async () => {
  await stopAll();
  await upstream.close();
});

interface RawReply {
  status: number;
  /** Lower-case names. */
  headers: Record<string, string>;
  body: string;
}

/**
 * Writes `head`, then `pieces` one every `everyMs` (a deliberately slow client), and returns the
 * answer once the edge closes the connection (raw requests here say `Connection: close`).
 */
function exchange(to: EdgeProcess, head: string, pacing?: { pieces: string[]; everyMs: number }): Promise<RawReply> {
  const [host, port] = [to.http.slice(0, to.http.lastIndexOf(":")), Number(to.http.slice(to.http.lastIndexOf(":") + 1))];
  const socket = connect(port, host);
  let answer = "";
  let pacer: NodeJS.Timeout | undefined;
  socket.on("data", (chunk) => (answer += chunk));
  socket.write(head);
  if (pacing) {
    const pieces = [...pacing.pieces];
    pacer = setInterval(() => {
      const piece = pieces.shift();
      if (piece === undefined || !socket.writable) return clearInterval(pacer);
      socket.write(piece);
    }, pacing.everyMs);
  }
  const closed = new Promise<RawReply>((resolve) => {
    // A reset after the answer (the edge closing on a client still sending) still leaves the answer.
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearInterval(pacer);
      resolve(parse(answer));
    });
  });
  return within(15_000, `an answer to ${JSON.stringify(head.split("\r\n")[0])}`, closed);
}

function parse(text: string): RawReply {
  const end = text.indexOf("\r\n\r\n");
  const lines = text.slice(0, end < 0 ? text.length : end).split("\r\n");
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(lines[0] ?? "")?.[1] ?? 0), headers, body: end < 0 ? "" : text.slice(end + 4) };
}

const get = (to: EdgeProcess, host: string, target: string, extra = "") =>
  exchange(to, `GET ${target} HTTP/1.1\r\nHost: ${host}\r\n${extra}Connection: close\r\n\r\n`);

/** The path the upstream received (it echoes req.url). */
const seenUpstream = (reply: RawReply) => (JSON.parse(reply.body) as { path: string }).path;

describe("request targets are normalised before policies see them", () => {
  it.each(["/admin", "http://HOST/admin", "//admin", "/./admin", "/x/../admin", "/%61dmin", "/%2e%2E/admin", "/public/..//admin/x"])(
    "a policy denying /admin denies %s",
    async (target) => {
      const reply = await get(edge, app.host, target.replace("HOST", app.host));
      expect(reply.status).toBe(403);
    },
  );

  it("the upstream receives exactly the path the policy saw, with the query untouched", async () => {
    const reply = await get(edge, app.host, "//docs/./v1/../%7Euser/%2e%2e/%61pi%2fx?next=/../%61&a=%zz");
    expect(reply.status).toBe(200);
    expect(seenUpstream(reply)).toBe("/docs/api%2Fx?next=/../%61&a=%zz");
  });

  it("an absolute-form target reaches the upstream in origin-form", async () => {
    const reply = await get(edge, app.host, `http://${app.host}/x/../whoami-not?y=1`);
    expect(seenUpstream(reply)).toBe("/whoami-not?y=1");
  });

  it("an absolute-form target naming another host than Host is refused: 400 MALFORMED_REQUEST", async () => {
    const reply = await get(edge, app.host, "http://other.e2e.localhost/admin");
    expect(reply.status).toBe(400);
    expect(reply.headers["onramp-error-code"]).toBe("ERR_ONRAMP_MALFORMED_REQUEST");
  });

  it.each(["/a%zz", "/a#x", "/..\\admin"])("%s is refused: 400 MALFORMED_REQUEST", async (target) => {
    const reply = await get(edge, app.host, target);
    expect(reply.status).toBe(400);
    expect(reply.headers["onramp-error-code"]).toBe("ERR_ONRAMP_MALFORMED_REQUEST");
  });

  it("a WebSocket upgrade is judged on the normalised path too", async () => {
    const reply = await exchange(
      edge,
      `GET /x/../admin HTTP/1.1\r\nHost: ${app.host}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    );
    expect(reply.status).toBe(403);
  });
});

describe("--no-normalize-path and merge_slashes: false", () => {
  it("leave escapes and repeated slashes as the client sent them", async () => {
    const escaped = await get(plainEdge, plain.host, "/%61dmin");
    expect([escaped.status, seenUpstream(escaped)]).toEqual([200, "/%61dmin"]);
    const slashes = await get(plainEdge, plain.host, "//admin");
    expect([slashes.status, seenUpstream(slashes)]).toEqual([200, "//admin"]);
  });

  it.each(["http://HOST/admin", "/./admin", "/x/../admin", "/%2e%2e/admin"])("still remove dot segments and absolute-form: %s is denied", async (target) => {
    const reply = await get(plainEdge, plain.host, target.replace("HOST", plain.host));
    expect(reply.status).toBe(403);
  });
});

describe("ambiguous or unroutable heads", () => {
  it("two Host headers: 400 MALFORMED_REQUEST, not forwarded", async () => {
    const reply = await get(edge, app.host, "/hello", `Host: other.e2e.localhost\r\n`);
    expect(reply.status).toBe(400);
    expect(reply.headers["onramp-error-code"]).toBe("ERR_ONRAMP_MALFORMED_REQUEST");
  });

  it("HTTP/1.1 without Host: 400 MALFORMED_REQUEST", async () => {
    const reply = await exchange(edge, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
    expect(reply.status).toBe(400);
    expect(reply.headers["onramp-error-code"]).toBe("ERR_ONRAMP_MALFORMED_REQUEST");
  });

  it("OPTIONS * is answered by the edge: 204 with Allow, no error", async () => {
    const reply = await exchange(edge, `OPTIONS * HTTP/1.1\r\nHost: ${app.host}\r\nConnection: close\r\n\r\n`);
    expect(reply.status).toBe(204);
    expect(reply.headers["allow"]).toContain("GET");
    expect(reply.headers["allow"]).not.toContain("CONNECT");
    expect(reply.headers["onramp-error-code"]).toBeUndefined();
  });

  it("* with another method: 400 MALFORMED_REQUEST", async () => {
    const reply = await get(edge, app.host, "*");
    expect(reply.status).toBe(400);
    expect(reply.headers["onramp-error-code"]).toBe("ERR_ONRAMP_MALFORMED_REQUEST");
  });

  it("CONNECT: 405 METHOD_NOT_ALLOWED with Allow, not a closed connection", async () => {
    const reply = await exchange(edge, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
    expect(reply.status).toBe(405);
    expect(reply.headers["onramp-error-code"]).toBe("ERR_ONRAMP_METHOD_NOT_ALLOWED");
    expect(reply.headers["allow"]).toContain("GET");
  });
});

describe("slow clients", () => {
  it("a head not finished within --header-timeout: 408 REQUEST_TIMEOUT", async () => {
    // Header lines keep coming, 300 ms apart: the deadline is for the whole head, not between lines.
    const reply = await exchange(edge, `GET /hello HTTP/1.1\r\nHost: ${app.host}\r\n`, {
      pieces: Array.from({ length: 40 }, (_, i) => `X-Slow-${i}: 1\r\n`),
      everyMs: 300,
    });
    expect(reply.status).toBe(408);
    expect(reply.headers["onramp-error-code"]).toBe("ERR_ONRAMP_REQUEST_TIMEOUT");
  });

  it("a body pausing longer than --body-timeout: 408 REQUEST_TIMEOUT", async () => {
    const reply = await exchange(edge, `POST /sink HTTP/1.1\r\nHost: ${app.host}\r\nContent-Length: 10\r\nConnection: close\r\n\r\nab`, {
      pieces: ["c", "d", "e"],
      everyMs: 2500,
    });
    expect(reply.status).toBe(408);
    expect(reply.headers["onramp-error-code"]).toBe("ERR_ONRAMP_REQUEST_TIMEOUT");
  });

  it("a streamed body (over the inline size) that stalls: 408 REQUEST_TIMEOUT, and the upstream request is aborted", async () => {
    const aborted = new Promise<boolean>((resolve) => {
      upstream.server.once("request", (req: IncomingMessage) => req.once("close", () => resolve(!req.complete)));
    });
    const reply = await exchange(edge, `POST /sink HTTP/1.1\r\nHost: ${app.host}\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n${"x".repeat(40_000)}`);
    expect(reply.status).toBe(408);
    expect(reply.headers["onramp-error-code"]).toBe("ERR_ONRAMP_REQUEST_TIMEOUT");
    expect(await within(10_000, "the upstream request to close", aborted)).toBe(true);
  });

  it("a slow but steady body is not cut: the clock restarts at every piece", async () => {
    const reply = await exchange(edge, `POST /sink HTTP/1.1\r\nHost: ${app.host}\r\nContent-Length: 5\r\nConnection: close\r\n\r\n`, {
      pieces: ["1", "2", "3", "4", "5"],
      everyMs: 300,
    });
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toEqual({ received: 5 });
  });

  it("the edge still serves after all of the above", async () => {
    const reply = await get(edge, app.host, "/hello");
    expect(reply.status).toBe(200);
  });
});
