import { decodeRequestHead, encodeResponseHead, type MuxStream } from "@onramp/mux";
import { createHmac } from "node:crypto";
import { request, type IncomingHttpHeaders } from "node:http";
import { gunzipSync, gzipSync } from "node:zlib";
import { policyFrom, startPolicyProxy } from "./policy-proxy-fixture.js";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";

/**
 * Policies that read whole bodies (policy-body.ts), through the real proxy and PolicyFlow with a
 * fake agent on a real mux connection: what the upstream receives, and what the client gets back.
 */

const SECRET = "It's a Secret to Everybody";
const LIMIT = 1024;

const HOOKS_POLICY = `
on_http_request:
  - expressions: ["req.url.path == '/github'"]
    actions:
      - type: verify-webhook
        config: {provider: github, secret: "${SECRET}"}
  - expressions: ["req.url.path == '/redact'"]
    actions:
      - type: request-body-find-replace
        config: {replacements: [{from: "sk-[a-z0-9]+", to: "[REDACTED]"}]}
on_http_response:
  - expressions: ["req.url.path == '/gzip'"]
    actions:
      - type: response-body-find-replace
        config: {replacements: [{from: "secret (\\\\d+)", to: "public $1"}]}
  - expressions: ["req.url.path == '/compress'"]
    actions:
      - type: compress-response
      - type: response-body-find-replace
        config: {replacements: [{from: "secret", to: "public"}]}
`;

const PLAIN_POLICY = `
on_http_request:
  - actions:
      - type: add-headers
        config: {headers: {x-policy: "ran"}}
`;

/** What the fake upstream saw of each request, by path. */
const seen = new Map<string, { headers: string[]; body: Buffer; chunks: number }>();
const closers: Array<() => void> = [];
let port = 0;

const GZIPPED_PAGE = "<p>the secret 42 and the secret 7</p>".repeat(4);

/** The fake agent: collects the request body (inline or streamed), then answers by path. */
function upstream(stream: MuxStream, headBytes: Buffer): void {
  const head = decodeRequestHead(headBytes);
  const record = { headers: head.headers, body: Buffer.from(head.body), chunks: 0 };
  seen.set(head.path, record);
  const answer = () => {
    if (head.path === "/gzip") {
      const body = gzipSync(GZIPPED_PAGE);
      stream.sendHead(encodeResponseHead({ status: 200, statusText: "OK", headers: ["content-type", "text/html", "content-encoding", "gzip", "content-length", String(body.length)] }), false);
      stream.write(body);
      stream.end();
      return;
    }
    stream.sendHead(encodeResponseHead({ status: 200, statusText: "OK", headers: ["content-type", "text/plain"], body: record.body }), true);
  };
  stream.handler.onData = (chunk) => {
    record.chunks++;
    record.body = Buffer.concat([record.body, chunk]);
    stream.consumed(chunk.length);
  };
  stream.handler.onEnd = answer;
  // Every request here has a body: inline in the head (which then ends the stream), or streamed until onEnd.
  if (head.body.length > 0) answer();
}

beforeAll(async () => {
  const proxy = await startPolicyProxy({
    endpoints: { "http://hooks.test": policyFrom(HOOKS_POLICY), "http://plain.test": policyFrom(PLAIN_POLICY) },
    agent: (stream, head) => upstream(stream, head),
    proxy: { inlineBodyBytes: 256, maxPolicyBodyBytes: LIMIT, bodyTimeoutMs: 10_000 },
  });
  closers.push(proxy.close);
  port = proxy.port;
});

afterAll(() => {
  for (const c of closers.splice(0)) c();
});

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** A POST whose body goes out in `chunks`; `between` runs after each but the last (to hold the client). */
function post(host: string, path: string, chunks: string[], headers: Record<string, string> = {}, between?: (i: number) => Promise<void>): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method: "POST", agent: false, headers: { host, ...headers } }, (res) => {
      const parts: Buffer[] = [];
      res.on("data", (d: Buffer) => parts.push(d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
    });
    req.on("error", reject);
    void (async () => {
      for (let i = 0; i < chunks.length; i++) {
        req.write(chunks[i]);
        if (i < chunks.length - 1) await between?.(i);
      }
      req.end();
    })().catch(reject);
  });
}

const sign = (body: string) => `sha256=${createHmac("sha256", SECRET).update(body).digest("hex")}`;

describe("policies that read the request body", () => {
  it("forwards a signed webhook, body intact, and refuses an unsigned one with 403", async () => {
    const body = JSON.stringify({ action: "opened", n: 1 });
    const ok = await post("hooks.test", "/github", [body.slice(0, 10), body.slice(10)], { "x-hub-signature-256": sign(body) });
    expect(ok.status).toBe(200);
    expect(ok.body.toString()).toBe(body);
    expect(seen.get("/github")?.body.toString()).toBe(body);

    const unsigned = await post("hooks.test", "/github", [body]);
    expect(unsigned.status).toBe(403);
    expect(unsigned.headers["onramp-error-code"]).toBe("ERR_ONRAMP_WEBHOOK_VERIFICATION_FAILED");
    const forged = await post("hooks.test", "/github", [body.replace("1", "2")], { "x-hub-signature-256": sign(body) });
    expect(forged.status).toBe(403);
  });

  it("answers 413 POLICY_BODY_TOO_LARGE for a body over the limit, declared or streamed, forwarding nothing", async () => {
    seen.delete("/github");
    const big = "x".repeat(LIMIT + 1);
    const declared = await post("hooks.test", "/github", [big], { "x-hub-signature-256": sign(big), "content-length": String(big.length) });
    expect(declared.status).toBe(413);
    expect(declared.headers["onramp-error-code"]).toBe("ERR_ONRAMP_POLICY_BODY_TOO_LARGE");
    const chunked = await post("hooks.test", "/github", [big.slice(0, 600), big.slice(600)], { "x-hub-signature-256": sign(big) });
    expect(chunked.status).toBe(413);
    expect(chunked.headers["onramp-error-code"]).toBe("ERR_ONRAMP_POLICY_BODY_TOO_LARGE");
    expect(seen.has("/github")).toBe(false);
  });

  it("forwards a rewritten body with its new Content-Length, streamed past the inline size", async () => {
    const body = `{"key":"sk-abc123","pad":"${"p".repeat(400)}"}`;
    const reply = await post("hooks.test", "/redact", [body.slice(0, 5), body.slice(5)]);
    expect(reply.status).toBe(200);
    const forwarded = seen.get("/redact")!;
    const expected = body.replace("sk-abc123", "[REDACTED]");
    expect(forwarded.body.toString()).toBe(expected);
    const length = forwarded.headers.findIndex((h, i) => i % 2 === 0 && h.toLowerCase() === "content-length");
    expect(forwarded.headers[length + 1]).toBe(String(Buffer.byteLength(expected)));
  });

  it.each([
    ["a policy that reads no body", "plain.test", "/upload"],
    ["a body-reading policy whose rules do not match", "hooks.test", "/upload-hooks"],
  ])("streams the body of a request with %s: the upstream sees the first chunk before the client sends the last", async (_what, host, path) => {
    seen.delete(path);
    const reply = await post(host, path, ["a".repeat(300), "b".repeat(300)], {}, async () => {
      await vi.waitUntil(() => (seen.get(path)?.body.length ?? 0) >= 300, { timeout: 5000, interval: 5 });
    });
    expect(reply.status).toBe(200);
    expect(reply.body.toString()).toBe("a".repeat(300) + "b".repeat(300));
  });
});

describe("response-body-find-replace", () => {
  it("rewrites a gzip'd response body and sends it re-compressed with the right length", async () => {
    const reply = await post("hooks.test", "/gzip", ["q"]);
    expect(reply.status).toBe(200);
    expect(reply.headers["content-encoding"]).toBe("gzip");
    expect(reply.headers["content-length"]).toBe(String(reply.body.length));
    expect(gunzipSync(reply.body).toString()).toBe(GZIPPED_PAGE.replaceAll(/secret (\d+)/g, "public $1"));
  });

  it("edits an unencoded body, then compresses it as compress-response chose", async () => {
    const reply = await post("hooks.test", "/compress", ["the secret of ", "the secret"], { "accept-encoding": "gzip" });
    expect(reply.status).toBe(200);
    expect(reply.headers["content-encoding"]).toBe("gzip");
    expect(gunzipSync(reply.body).toString()).toBe("the public of the public");
  });
});
