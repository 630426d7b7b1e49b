import { decodeRequestHead, encodeResponseHead } from "@onramp/mux";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { getThrough, policyFrom, startPolicyProxy, type Answer } from "./policy-proxy-fixture.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * `http-request` on a real connection: the policy calls a real HTTP service on loopback through the
 * edge's runtime (global fetch, as edge.ts builds it), and later rules read the answer from
 * `actions.ngrok.http_request` — in a header sent to the agent, and in a custom response.
 */

const closers: Array<() => void> = [];
let port = 0;
/** What the service on loopback received: method, path and the x-caller header, one entry a call. */
const calls: string[] = [];

async function listen(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  closers.push(() => {
    server.closeAllConnections();
    server.close();
  });
  return (server.address() as AddressInfo).port;
}

beforeAll(async () => {
  const service = createServer((req, res) => {
    calls.push(`${req.method} ${req.url} ${req.headers["x-caller"] ?? ""}`);
    const user = new URL(req.url ?? "/", "http://x").searchParams.get("user") ?? "";
    if (req.url?.startsWith("/plan.json")) {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ plan: "gold", user }));
      return;
    }
    res.writeHead(200, { "content-type": "text/plain", "x-quota": "42" }).end(`gold-${user}`);
  });
  const servicePort = await listen(service);
  // A port nothing listens on: bound, then closed.
  const gone = createServer();
  const gonePort = await new Promise<number>((r) => gone.listen(0, "127.0.0.1", () => r((gone.address() as AddressInfo).port)));
  await new Promise<void>((r) => gone.close(() => r()));

  const policy = `
on_http_request:
  - expressions: ["req.url.path == '/header'"]
    actions:
      - type: http-request
        config:
          url: "http://127.0.0.1:${servicePort}/plan"
          query_params: [{key: user, value: "\${getQueryParam('user')[0]}"}]
          headers: {x-caller: onramp-edge}
      - type: add-headers
        config:
          headers:
            x-plan: "\${actions.ngrok.http_request.res.body}"
            x-quota: "\${actions.ngrok.http_request.res.header['x-quota'][0]}"
  - expressions: ["req.url.path == '/json'"]
    actions:
      - type: http-request
        config:
          url: "http://127.0.0.1:${servicePort}/plan.json?user=\${getQueryParam('user')[0]}"
          method: POST
          body: "{}"
  - expressions: ["req.url.path == '/json' && actions.ngrok.http_request.res.status_code == 200"]
    actions:
      - type: custom-response
        config:
          status_code: 200
          headers: {x-plan: "\${json.decode(actions.ngrok.http_request.res.body).plan}"}
          body: "\${json.decode(actions.ngrok.http_request.res.body).user} has \${json.decode(actions.ngrok.http_request.res.body).plan}"
  - expressions: ["req.url.path == '/down'"]
    actions:
      - type: http-request
        config:
          url: "http://127.0.0.1:${gonePort}/plan"
          on_error: halt
`;
  // The agent answers with the x-plan and x-quota headers the policy added to the request.
  const proxy = await startPolicyProxy({
    endpoints: { "http://app.test": policyFrom(policy) },
    agent: (stream, head) => {
      const h = decodeRequestHead(head).headers;
      const get = (name: string) => h[h.indexOf(name) + 1] ?? "";
      const body = Buffer.from(`agent saw plan=${h.includes("x-plan") ? get("x-plan") : "none"} quota=${h.includes("x-quota") ? get("x-quota") : "none"}`);
      stream.sendHead(encodeResponseHead({ status: 200, statusText: "OK", headers: ["content-length", String(body.length)], body }), true);
    },
  });
  closers.push(proxy.close);
  port = proxy.port;
});

afterAll(() => {
  for (const c of closers.splice(0).reverse()) c();
});

const get = (path: string): Promise<Answer> => getThrough(port, "app.test", path);

describe("http-request through the edge", () => {
  it("calls the service, and a later add-headers sends its answer to the agent", async () => {
    const res = await get("/header?user=alice");
    expect(res).toMatchObject({ status: 200, body: "agent saw plan=gold-alice quota=42" });
    expect(calls).toContain("GET /plan?user=alice onramp-edge");
  });

  it("lets a later rule match on the answer and build a custom response from its JSON body", async () => {
    const res = await get("/json?user=bob");
    expect(res.status).toBe(200);
    expect(res.headers["x-plan"]).toBe("gold");
    expect(res.body).toBe("bob has gold");
    expect(calls).toContain("POST /plan.json?user=bob ");
  });

  it("answers 502 with an Onramp-Error-Code when the service is down and on_error is halt", async () => {
    const res = await get("/down");
    expect(res.status).toBe(502);
    expect(res.headers["onramp-error-code"]).toBe("ERR_ONRAMP_HTTP_REQUEST_FAILED");
  });
});
