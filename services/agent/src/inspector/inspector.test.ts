import { Script } from "node:vm";
import { createServer, request, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createInspector, type Inspector } from "./inspector.js";
import { exchangeInfo, outcome } from "./test-exchanges.js";

// The inspector as the CLI runs it: a real HTTP server on loopback, fed through `observe` as the
// agent feeds it, and replays sent to a real upstream.

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

let upstream: Server;
let upstreamUrl: string;
/** Requests the upstream got, and waiters for the next ones. */
const seen: Seen[] = [];
let onSeen: (() => void) | undefined;
let inspector: Inspector;
let base: string;

beforeAll(async () => {
  upstream = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString() });
      onSeen?.();
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ got: req.url }));
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
});

afterAll(async () => {
  upstream.closeAllConnections();
  await new Promise((resolve) => upstream.close(resolve));
});

async function startInspector(options: Parameters<typeof createInspector>[0] = {}): Promise<void> {
  inspector = createInspector(options);
  base = await inspector.listen("127.0.0.1", 0);
}

afterEach(async () => {
  await inspector?.close();
  seen.length = 0;
});

/** One HTTP request to the inspector, Host included (fetch would not let a test set it). */
function call(method: string, path: string, options: { body?: string; headers?: Record<string, string> } = {}) {
  return new Promise<{ status: number; headers: IncomingHttpHeaders; text: string; json: () => any }>((resolve, reject) => {
    const req = request(`${base}${path}`, { method, headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString();
        resolve({ status: res.statusCode!, headers: res.headers, text, json: () => JSON.parse(text) });
      });
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

const post = (body: unknown) => call("POST", "/api/requests/http", { body: JSON.stringify(body), headers: { "content-type": "application/json" } });

/** An exchange through `observe`, as the agent reports one; returns nothing, as the agent does not know the store's id. */
function capture(overrides: Parameters<typeof exchangeInfo>[0] = {}, requestBody = "", status = 200, responseBody = "ok") {
  const observer = inspector.observe(exchangeInfo({ upstream: upstreamUrl, ...overrides }));
  if (requestBody) observer?.requestBody?.(Buffer.from(requestBody));
  observer?.response?.(status, "", ["content-type", "text/plain"]);
  observer?.responseBody?.(Buffer.from(responseBody));
  observer?.end(outcome(status));
}

/** The live event stream's events, as the page gets them; `next(test)` waits for one that passes. */
function openStream() {
  const events: Array<{ event: string; data: any }> = [];
  let wake: (() => void) | undefined;
  let buffer = "";
  const req = request(`${base}/api/requests/http/stream`, (res) => {
    res.setEncoding("utf8");
    res.on("data", (text: string) => {
      buffer += text;
      for (let i; (i = buffer.indexOf("\n\n")) >= 0; buffer = buffer.slice(i + 2)) {
        const block = buffer.slice(0, i);
        events.push({ event: /^event: (.*)$/m.exec(block)![1]!, data: JSON.parse(/^data: (.*)$/m.exec(block)![1]!) });
      }
      wake?.();
    });
  });
  req.on("error", () => undefined);
  req.end();
  return {
    events,
    close: () => req.destroy(),
    next(test: (e: { event: string; data: any }) => boolean): Promise<{ event: string; data: any }> {
      return new Promise((resolve) => {
        const check = () => {
          const found = events.find(test);
          if (found) resolve(found);
          else wake = check;
        };
        check();
      });
    },
  };
}

/** Resolves once the upstream has seen `n` requests. */
function upstreamSaw(n: number): Promise<void> {
  return new Promise((resolve) => {
    const check = () => (seen.length >= n ? resolve() : undefined);
    onSeen = check;
    check();
  });
}

describe("GET /api/requests/http", () => {
  it("lists captured requests newest first, as ngrok does, by tunnel_name and up to a limit", async () => {
    await startInspector();
    capture({ path: "/first" });
    capture({ path: "/second", endpointUrl: "https://other.example.com" });
    capture({ path: "/third" });
    const list = await call("GET", "/api/requests/http");
    expect(list.status).toBe(200);
    expect(list.headers["content-type"]).toBe("application/json");
    const body = list.json();
    expect(body.uri).toBe("/api/requests/http");
    expect(body.requests.map((r: any) => r.request.uri)).toEqual(["/third", "/second", "/first"]);
    expect(body.requests[0]).toMatchObject({ uri: `/api/requests/http/${body.requests[0].id}`, tunnel_name: "https://app.example.com", response: { status: "200 OK", status_code: 200 } });
    expect((await call("GET", "/api/requests/http?limit=1")).json().requests).toHaveLength(1);
    expect((await call("GET", `/api/requests/http?tunnel_name=${encodeURIComponent("https://other.example.com")}`)).json().requests.map((r: any) => r.request.uri)).toEqual(["/second"]);
    const one = await call("GET", `/api/requests/http/${body.requests[1].id}`);
    expect(one.json()).toEqual(body.requests[1]);
  });

  it("captures nothing of an endpoint that opted out", async () => {
    await startInspector();
    expect(inspector.observe(exchangeInfo({ inspect: false }))).toBeUndefined();
    expect((await call("GET", "/api/requests/http")).json().requests).toEqual([]);
  });

  it("answers bad requests with ngrok's error shape and the right status", async () => {
    await startInspector();
    const cases = [
      [await call("GET", "/api/requests/http?limit=0"), 400, "ERR_ONRAMP_INVALID_ARGUMENT", 'limit: "0" is not a whole number of at least 1'],
      [await call("GET", "/api/requests/http/nope"), 404, "ERR_ONRAMP_NOT_FOUND", 'no captured request with id "nope"'],
      [await call("PUT", "/api/requests/http"), 405, "ERR_ONRAMP_INVALID_ARGUMENT", "PUT is not allowed on /api/requests/http (allowed: GET, POST, DELETE)"],
      [await call("DELETE", "/api/requests/http/abc"), 405, "ERR_ONRAMP_INVALID_ARGUMENT", "DELETE is not allowed"],
      [await call("POST", "/api/requests/http", { body: '{"id":"x"}' }), 415, "ERR_ONRAMP_INVALID_ARGUMENT", "Content-Type: application/json"],
      [await call("POST", "/api/requests/http", { body: "{", headers: { "content-type": "application/json" } }), 400, "ERR_ONRAMP_INVALID_ARGUMENT", "the body is not valid JSON"],
      [await post({ id: "x", nope: 1 }), 400, "ERR_ONRAMP_INVALID_ARGUMENT", 'replay: unknown field "nope"'],
      [await post({ id: "x" }), 404, "ERR_ONRAMP_NOT_FOUND", 'no captured request with id "x"'],
      [await call("POST", "/api/requests/http", { body: `"${"x".repeat(1024 * 1024)}"`, headers: { "content-type": "application/json" } }), 413, "ERR_ONRAMP_BODY_TOO_LARGE", "larger than"],
      [await call("GET", "/api/nothing"), 404, "ERR_ONRAMP_NOT_FOUND", "nothing at /api/nothing"],
    ] as const;
    for (const [reply, status, code, msg] of cases) {
      expect(reply.status).toBe(status);
      expect(reply.headers["onramp-error-code"]).toBe(code);
      expect(reply.json()).toEqual({ error_code: code, status_code: status, msg: expect.stringContaining(msg) });
    }
    expect(cases[2][0].headers.allow).toBe("GET, POST, DELETE");
  });

  it("answers only to loopback Host names: a rebound DNS name cannot read captured requests", async () => {
    await startInspector();
    const port = new URL(base).port;
    expect((await call("GET", "/api/requests/http", { headers: { host: "evil.example" } })).status).toBe(403);
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `app.localhost:${port}`]) {
      expect((await call("GET", "/api/requests/http", { headers: { host } })).status).toBe(200);
    }
  });
});

describe("DELETE /api/requests/http", () => {
  it("forgets every captured request", async () => {
    await startInspector();
    capture();
    expect((await call("DELETE", "/api/requests/http")).status).toBe(204);
    expect((await call("GET", "/api/requests/http")).json().requests).toEqual([]);
  });
});

describe("POST /api/requests/http (replay)", () => {
  it("sends the request again to the upstream as it was, and records the replay with its response", async () => {
    await startInspector();
    capture({ method: "POST", path: "/hook?x=1", headers: ["host", "app.example.com", "content-type", "application/json", "content-length", "7", "x-sig", "s1"] }, '{"a":1}');
    const [original] = (await call("GET", "/api/requests/http")).json().requests;
    const stream = openStream();
    const reply = await post({ id: original.id });
    expect(reply.status).toBe(204);
    const replayId = reply.headers["onramp-replay-id"] as string;
    expect(replayId).toMatch(/^[0-9a-f]{16}$/);
    await upstreamSaw(1);
    expect(seen[0]).toMatchObject({ method: "POST", url: "/hook?x=1", body: '{"a":1}', headers: { host: "app.example.com", "content-type": "application/json", "content-length": "7", "x-sig": "s1" } });
    await stream.next((e) => e.event === "exchange" && e.data.id === replayId && e.data.complete);
    stream.close();
    const replay = (await call("GET", `/api/requests/http/${replayId}`)).json();
    expect(replay).toMatchObject({ replay_of: original.id, complete: true, error: null, request: { method: "POST", uri: "/hook?x=1" }, response: { status_code: 200 } });
    expect(Buffer.from(replay.response.raw, "base64").toString()).toMatch(/\r\n\r\n\{"got":"\/hook\?x=1"\}$/);
    expect((await call("GET", "/api/requests/http")).json().requests.map((r: any) => r.id)).toEqual([replayId, original.id]);
  });

  it("applies edits: method, path, headers (replaced, added, removed) and body, with a Content-Length to match", async () => {
    await startInspector();
    capture({ method: "POST", path: "/hook", headers: ["host", "app.example.com", "content-length", "7", "x-sig", "s1", "cookie", "c=1"] }, '{"a":1}');
    const [original] = (await call("GET", "/api/requests/http")).json().requests;
    expect((await post({ id: original.id, method: "PUT", path: "/edited?y=2", headers: { "X-Sig": "s2", "X-New": ["1", "2"], Cookie: null }, body: "héllo" })).status).toBe(204);
    await upstreamSaw(1);
    expect(seen[0]).toMatchObject({ method: "PUT", url: "/edited?y=2", body: "héllo", headers: { host: "app.example.com", "x-sig": "s2", "x-new": "1, 2", "content-length": "6" } });
    expect(seen[0]!.headers.cookie).toBeUndefined();
  });

  it("refuses to replay a body cut at capture, unless the edits replace it", async () => {
    await startInspector({ bodyBytes: 4, maxTotalBodyBytes: 64 });
    capture({ path: "/upload" }, "0123456789");
    const [original] = (await call("GET", "/api/requests/http")).json().requests;
    expect(original.request).toMatchObject({ body_size: 10, body_truncated: true });
    const refused = await post({ id: original.id });
    expect([refused.status, refused.json().msg]).toEqual([400, "replay: the request body was cut at 4 of 10 bytes when captured; replay it with an edited body"]);
    expect((await post({ id: original.id, body: "whole" })).status).toBe(204);
    await upstreamSaw(1);
    expect(seen[0]).toMatchObject({ url: "/upload", body: "whole" });
  });

  it("records a replay the upstream refused, with the agent's error code", async () => {
    await startInspector();
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    capture({ upstream: `http://127.0.0.1:${port}` });
    const [original] = (await call("GET", "/api/requests/http")).json().requests;
    const stream = openStream();
    const replayId = (await post({ id: original.id })).headers["onramp-replay-id"];
    const done = await stream.next((e) => e.event === "exchange" && e.data.id === replayId && e.data.complete);
    stream.close();
    expect(done.data).toMatchObject({ status_code: null, error: { code: "UPSTREAM_REFUSED" }, replay_of: original.id });
  });
});

describe("the live stream and the page", () => {
  it("streams a snapshot first, then each change", async () => {
    await startInspector();
    capture({ path: "/before" });
    const stream = openStream();
    const snapshot = await stream.next((e) => e.event === "snapshot");
    expect(snapshot.data.map((s: any) => s.uri)).toEqual(["/before"]);
    capture({ path: "/after" });
    await stream.next((e) => e.event === "exchange" && e.data.uri === "/after" && e.data.complete);
    await call("DELETE", "/api/requests/http");
    await stream.next((e) => e.event === "cleared");
    stream.close();
  });

  it("serves the page, its script and style under a CSP that runs only them", async () => {
    await startInspector();
    const page = await call("GET", "/");
    expect(page.status).toBe(200);
    expect(page.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(page.headers["content-security-policy"]).toContain("script-src 'self'");
    expect(page.text).toContain('<script src="/inspector.js" defer></script>');
    const script = await call("GET", "/inspector.js");
    expect(script.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    // It has no build step: at least make sure it parses.
    expect(() => new Script(script.text)).not.toThrow();
    expect((await call("GET", "/inspector.css")).status).toBe(200);
  });
});

describe("listen and close", () => {
  it("says when the address is taken, with the system's error as the cause", async () => {
    await startInspector();
    const second = createInspector();
    const error = await second.listen("127.0.0.1", Number(new URL(base).port)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "INVALID_ARGUMENT", message: expect.stringContaining("the address is already in use"), cause: { code: "EADDRINUSE" } });
    await second.close();
  });

  it("ends live streams on close", async () => {
    await startInspector();
    const ended = new Promise<void>((resolve) => {
      request(`${base}/api/requests/http/stream`, (res) => {
        res.resume();
        res.on("close", resolve);
      }).end();
    });
    const stream = openStream();
    await stream.next((e) => e.event === "snapshot");
    await inspector.close();
    await ended;
  });
});
