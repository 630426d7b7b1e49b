import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAgent } from "../agent.js";
import { FakeEdge } from "../fake-edge.js";
import { createInspector } from "./inspector.js";

// The inspector fed by a real agent: what the agent reports is what the API shows, and an
// endpoint bound with `inspect: false` is not captured at all.

let upstream: Server;
let upstreamAddr: string;

beforeAll(async () => {
  upstream = createServer((req, res) => res.end(`hello ${req.url}`));
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  upstreamAddr = `127.0.0.1:${(upstream.address() as AddressInfo).port}`;
});

afterAll(async () => {
  upstream.closeAllConnections();
  await new Promise((resolve) => upstream.close(resolve));
});

describe("the inspector behind an agent", () => {
  it("captures the requests of inspected endpoints only", async () => {
    const edge = await FakeEdge.start();
    const inspector = createInspector();
    const agent = createAgent({ edge: edge.address, reconnectInitialMs: 10, healthCheck: { intervalMs: 0 }, observe: inspector.observe });
    try {
      const base = await inspector.listen("127.0.0.1", 0);
      await agent.start();
      const seen = await agent.bind({ upstream: upstreamAddr, url: "http://seen.fake.test" });
      const secret = await agent.bind({ upstream: upstreamAddr, url: "http://secret.fake.test", inspect: false });
      const session = await edge.boundSession(2);
      expect(await edge.request(session, secret.bindId, "/private")).toEqual({ status: 200, body: "hello /private" });
      expect(await edge.request(session, seen.bindId, "/public?x=1")).toEqual({ status: 200, body: "hello /public?x=1" });

      const { requests } = (await (await fetch(`${base}/api/requests/http`)).json()) as { requests: any[] };
      expect(requests).toHaveLength(1);
      expect(requests[0]).toMatchObject({
        tunnel_name: "http://seen.fake.test",
        upstream: `http://${upstreamAddr}`,
        request: { method: "GET", uri: "/public?x=1", headers: { Host: ["app.fake.test"] } },
        response: { status_code: 200, body_size: "hello /public?x=1".length },
        complete: true,
      });
      expect(Buffer.from(requests[0].response.raw, "base64").toString()).toMatch(/\r\n\r\nhello \/public\?x=1$/);
    } finally {
      await agent.close(0);
      await inspector.close();
      await edge.kill();
    }
  });
});
