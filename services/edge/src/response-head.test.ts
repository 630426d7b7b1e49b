import { encodeResponseHead } from "@onramp/mux";
import { createEdgeMetrics, silentLogger } from "@onramp/telemetry";
import { createServer, request, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { parseEndpointUrl } from "./endpoint-url.js";
import { fakeAgentConnection, type FakeAgentBehaviour } from "./fake-agent.js";
import { HttpProxy } from "./http-proxy.js";
import { RequestTelemetry } from "./request-telemetry.js";
import { RoutingTable, type Member } from "./routing-table.js";

const closers: Array<() => void> = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

describe("response heads", () => {
  it("reach the client as soon as the agent sends them, before any body (SSE, long polls)", async () => {
    // The upstream answers 200 with headers and then waits: no body, no end.
    const headOnly: FakeAgentBehaviour = (stream) => stream.sendHead(encodeResponseHead({ status: 200, statusText: "OK", headers: ["content-type", "text/event-stream"] }), false);
    const table = new RoutingTable("r");
    const agent = await fakeAgentConnection(headOnly);
    closers.push(agent.close);
    const member: Member = { id: "m", bindId: "b", edge: "e", region: "r", agentId: "a", sessionId: "s", upstream: "", local: true, policy: undefined, opener: () => agent.connection };
    table.addMember(parseEndpointUrl("http://events.test"), false, member);
    const telemetry = new RequestTelemetry(createEdgeMetrics(), silentLogger(), undefined, "r", { accessLog: false });
    const proxy = new HttpProxy(table, { maxRequestBodyBytes: 1 << 20, inlineBodyBytes: 16 * 1024 }, telemetry, silentLogger());
    const server: Server = createServer((req, res) => proxy.handle(req, res, false));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    closers.push(() => server.closeAllConnections());
    closers.push(() => server.close());
    const port = (server.address() as AddressInfo).port;
    // Before the fix the head stayed in Node's buffer until the first body bytes: this never resolved.
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = request({ host: "127.0.0.1", port, path: "/events", headers: { host: "events.test" } }, resolve);
      req.on("error", reject);
      req.setTimeout(5_000, () => reject(new Error("no response head within 5 s")));
      req.end();
      closers.push(() => req.destroy());
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("text/event-stream");
  });
});
