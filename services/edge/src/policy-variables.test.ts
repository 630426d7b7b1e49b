import { encodeResponseHead } from "@onramp/mux";
import { createPolicyRuntime, formatPolicyErrors, loadPolicy } from "@onramp/policy";
import { createEdgeMetrics, silentLogger } from "@onramp/telemetry";
import { Agent, createServer, request, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClientConnections } from "./client-connections.js";
import { parseEndpointUrl } from "./endpoint-url.js";
import { fakeAgentConnection } from "./fake-agent.js";
import { HttpProxy } from "./http-proxy.js";
import { PolicyFlow } from "./policy-flow.js";
import { RequestTelemetry } from "./request-telemetry.js";
import { RoutingTable, type Member } from "./routing-table.js";

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
          body: "\${req.version}|\${string(conn.bytes_in > 50)}|\${conn.server_ip}|\${string(conn.server_port)}|\${string(req.ts.header_received >= conn.ts.start)}|\${string(req.ts.header_received <= time.now)}"
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
  const loaded = loadPolicy(POLICY);
  if (!loaded.ok) throw new Error(formatPolicyErrors(loaded.errors));
  const table = new RoutingTable("eu");
  const agent = await fakeAgentConnection((stream) => {
    stream.sendHead(encodeResponseHead({ status: 200, statusText: "OK", headers: ["set-cookie", "sid=abc; Path=/; Max-Age=60", "content-length", "2"], body: Buffer.from("ok") }), true);
  });
  closers.push(agent.close);
  const member: Member = { id: "m0", bindId: "b0", edge: "edge-a", region: "eu", agentId: "agent-1", sessionId: "s0", upstream: "", local: true, policy: loaded.policy, opener: () => agent.connection };
  table.addMember(parseEndpointUrl("http://app.test"), false, member);
  const telemetry = new RequestTelemetry(createEdgeMetrics(), silentLogger(), undefined, "eu", { accessLog: false });
  const proxy = new HttpProxy(table, { maxRequestBodyBytes: 64 * 1024, inlineBodyBytes: 16 * 1024 }, telemetry, silentLogger());
  proxy.policies = new PolicyFlow(proxy, table, createPolicyRuntime(), "eu", silentLogger(), new ClientConnections());
  const server: Server = createServer((req, res) => proxy.handle(req, res, false));
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

function get(path: string, agent: Agent | false = false): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, agent, headers: { host: "app.test" } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

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
