import { encodeResponseHead } from "@onramp/mux";
import { Agent } from "node:http";
import { getThrough, policyFrom, startPolicyProxy, type Answer } from "./policy-proxy-fixture.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The policy variables the edge fills from its sockets (policy-flow.ts): a policy reads them on a
 * real connection, through the proxy and PolicyFlow as edge.ts wires them.
 */

const POLICY = `
on_http_request:
  - expressions: ["req.url.path == '/vars'"]
    actions:
      - type: custom-response
        config:
          status_code: 200
          body: "\${req.version}|\${string(conn.bytes_in > 50)}|\${conn.server_ip}|\${string(conn.server_port)}|\${string(req.ts.header_received >= conn.ts.start)}|\${string(req.ts.header_received < timestamp(time.now) + duration('1s'))}"
on_http_response:
  - actions:
      - type: add-headers
        config:
          headers:
            x-cookie: "\${getResCookie('sid').value} \${getResCookie('sid').max_age}"
            x-length: "\${string(res.content_length)}"
            x-bytes-out: "\${string(conn.bytes_out > 0)}"
`;

const closers: Array<() => void> = [];
let port = 0;

beforeAll(async () => {
  const proxy = await startPolicyProxy({
    endpoints: { "http://app.test": policyFrom(POLICY) },
    agent: (stream) => {
      stream.sendHead(encodeResponseHead({ status: 200, statusText: "OK", headers: ["set-cookie", "sid=abc; Path=/; Max-Age=60", "content-length", "2"], body: Buffer.from("ok") }), true);
    },
  });
  closers.push(proxy.close);
  port = proxy.port;
});

afterAll(() => {
  for (const c of closers.splice(0)) c();
});

const get = (path: string, agent: Agent | false = false): Promise<Answer> => getThrough(port, "app.test", path, {}, agent);

describe("policy variables from the edge's client connection", () => {
  it("fills req.version, conn.bytes_in, conn.server_ip/port and req.ts.header_received", async () => {
    const res = await get("/vars");
    expect(res.status).toBe(200);
    expect(res.body).toBe(`HTTP/1.1|true|127.0.0.1|${port}|true|true`);
  });

  it("reads the upstream's Set-Cookie and Content-Length in on_http_response", async () => {
    const res = await get("/page");
    expect(res.status).toBe(200);
    expect(res.headers["x-cookie"]).toBe("abc 60s");
    expect(res.headers["x-length"]).toBe("2");
  });

  it("counts conn.bytes_out so far on the connection: nothing before the first response, more on the next request", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      expect((await get("/page", agent)).headers["x-bytes-out"]).toBe("false");
      expect((await get("/page", agent)).headers["x-bytes-out"]).toBe("true");
    } finally {
      agent.destroy();
    }
  });
});
