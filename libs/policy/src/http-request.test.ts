import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createMemoryRateLimitStore } from "./rate-limit-store.js";
import { createPolicyRuntime } from "./runtime.js";
import { errorsOf, policyOf, request } from "./test-fixtures.js";

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

/** A real HTTP service on loopback; each test installs the handler it needs. */
let server: Server;
let base = "";
let handler: Handler = (_req, _body, res) => res.end("ok");
const seen: Array<{ method: string; url: string; headers: IncomingMessage["headers"]; body: string }> = [];
const open = new Set<ServerResponse>();

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (body += c));
    req.on("end", () => {
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
      open.add(res);
      res.on("close", () => open.delete(res));
      handler(req, body, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const res of open) res.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

function setup(h: Handler): void {
  handler = h;
  seen.length = 0;
}

const rt = () => createPolicyRuntime({ rateLimits: createMemoryRateLimitStore() });

const policy = (config: string, then = "") =>
  policyOf(`
on_http_request:
  - actions:
      - type: http-request
        config:
${config.replace(/^/gm, "          ")}
${then}`);

/** Answers with the action's variables so a test can read them. */
const ECHO = `  - actions:
      - type: custom-response
        config:
          status_code: 200
          body: "\${has(actions.ngrok.http_request.res) ? string(actions.ngrok.http_request.res.status_code) + '|' + actions.ngrok.http_request.res.body : '|'}|\${size(actions.ngrok.http_request.attempts)}|\${has(actions.ngrok.http_request.error) ? actions.ngrok.http_request.error.code : ''}"`;

describe("http-request", () => {
  it("GETs a URL with interpolated query params and headers and exposes the response", async () => {
    setup((_req, _body, res) => {
      res.setHeader("x-answer", "42");
      res.end("hello");
    });
    const p = policy(
      `url: "${base}/check"
query_params:
  - key: path
    value: "\${req.url.path}"
headers:
  X-Client: "\${conn.client_ip}"`,
      ECHO,
    );
    const out = await p.onHttpRequest(request({ url: "https://api.example.com/a b" }), rt());
    expect(out.kind === "respond" && out.body).toBe("200|hello|1|");
    expect(seen[0]).toMatchObject({ method: "GET", url: "/check?path=%2Fa%2520b" });
    expect(seen[0]?.headers["x-client"]).toBe("203.0.113.7");
    expect(seen[0]?.headers["x-forwarded-for"]).toBe("203.0.113.7");
  });

  it("POSTs an interpolated body and lets later rules read the response headers", async () => {
    setup((_req, body, res) => {
      res.setHeader("x-verdict", body.includes("alice") ? "allow" : "deny");
      res.end();
    });
    const p = policy(
      `url: "${base}/authz"
method: POST
headers:
  content-type: application/json
body: '{"user": "\${getReqHeader("x-user")[0]}"}'`,
      `  - expressions: ["actions.ngrok.http_request.res.header['x-verdict'][0] == 'deny'"]
    actions:
      - type: deny`,
    );
    const allowed = await p.onHttpRequest(request({ headers: { "x-user": "alice" } }), rt());
    expect(allowed.kind).toBe("continue");
    expect(seen[0]).toMatchObject({ method: "POST", body: '{"user": "alice"}' });
    expect(seen[0]?.headers["content-type"]).toBe("application/json");
    const denied = await p.onHttpRequest(request({ headers: { "x-user": "mallory" } }), rt());
    expect(denied.kind === "respond" && denied.status).toBe(403);
  });

  it("times out: on_error continue records the error, halt answers 502 with an error code", async () => {
    setup(() => {
      /* never answers */
    });
    const cont = await policy(`url: "${base}/slow"\ntimeout: 1s`, ECHO).onHttpRequest(request(), rt());
    expect(cont.kind === "respond" && cont.body).toMatch(/\|1\|timeout$/);
    const halt = await policy(`url: "${base}/slow"\ntimeout: 1s\non_error: halt`, ECHO).onHttpRequest(request(), rt());
    expect(halt.kind === "respond" && [halt.status, halt.code]).toEqual([502, "HTTP_REQUEST_FAILED"]);
  });

  it("retries while retry_condition holds, at most 3 times", async () => {
    let calls = 0;
    setup((_req, _body, res) => {
      calls++;
      res.statusCode = calls < 3 ? 503 : 200;
      res.end(`call ${calls}`);
    });
    const p = policy(`url: "${base}/flaky"\nretry_condition: "last_attempt.res.status_code >= 500 && attempts < 5"`, ECHO);
    const out = await p.onHttpRequest(request(), rt());
    expect(out.kind === "respond" && out.body).toBe("200|call 3|3|");
    calls = -100;
    const capped = await p.onHttpRequest(request(), rt());
    expect(capped.kind === "respond" && capped.body).toBe("503|call -96|4|");
  });

  it("refuses a response body over 256 KiB", async () => {
    setup((_req, _body, res) => res.end("x".repeat(256 * 1024 + 1)));
    const out = await policy(`url: "${base}/big"`, ECHO).onHttpRequest(request(), rt());
    expect(out.kind === "respond" && out.body).toMatch(/\|1\|response_too_large$/);
  });

  it("follows redirects only when max_redirects allows, and never into *.internal", async () => {
    setup((req, _body, res) => {
      if (req.url === "/start") res.writeHead(302, { location: "/end" }).end();
      else if (req.url === "/sneaky") res.writeHead(307, { location: "https://admin.internal/" }).end();
      else res.end("end");
    });
    const none = await policy(`url: "${base}/start"`, ECHO).onHttpRequest(request(), rt());
    expect(none.kind === "respond" && none.body).toBe("302||1|");
    const followed = await policy(`url: "${base}/start"\nmax_redirects: 2`, ECHO).onHttpRequest(request(), rt());
    expect(followed.kind === "respond" && followed.body).toBe("200|end|1|");
    const refused = await policy(`url: "${base}/sneaky"\nmax_redirects: 2`, ECHO).onHttpRequest(request(), rt());
    expect(refused.kind === "respond" && refused.body).toMatch(/\|1\|url_not_allowed$/);
  });

  it("aborts the call when the client goes away", async () => {
    setup(() => {
      /* never answers */
    });
    const client = new AbortController();
    const run = policy(`url: "${base}/hang"\ntimeout: 30s`, ECHO).onHttpRequest(request(), rt(), client.signal);
    await vi.waitFor(() => expect(open.size).toBe(1));
    client.abort(new Error("client left"));
    await expect(run).rejects.toThrow("client left");
    await vi.waitFor(() => expect(open.size).toBe(0));
  });

  it("rejects bad config naming the field", () => {
    expect(errorsOf("on_http_request:\n  - actions:\n      - type: http-request\n        config:\n          url: https://auth.internal/check")).toMatch(
      /url.*internal endpoint/,
    );
    expect(errorsOf("on_http_request:\n  - actions:\n      - type: http-request\n        config:\n          url: http://x\n          timeout: 60s")).toMatch(
      /timeout.*between 1s and 30s/,
    );
    expect(
      errorsOf("on_http_request:\n  - actions:\n      - type: http-request\n        config:\n          url: http://x\n          retry_condition: \"last_attempt.nope\""),
    ).toMatch(/retry_condition/);
    expect(errorsOf("on_http_request:\n  - actions:\n      - type: http-request\n        config:\n          url: http://x\n          body: hi")).toMatch(/body.*GET/);
  });
});
