import { ErrorCode, OnrampError } from "@onramp/errors";
import { decodeResponseHead, encodeRequestHead } from "@onramp/mux";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createAgent, type Agent, type BindOptions } from "./agent.js";
import { FakeEdge, type FakeSession } from "./fake-edge.js";

/** The Host and X-Forwarded-Host lines each request and each upgrade reached the upstream with, in order. */
const seen: Array<{ host: string[]; forwardedHost: string[] }> = [];
let upstream: Server;
let port: number;
const agents: Agent[] = [];
const edges: FakeEdge[] = [];

beforeAll(async () => {
  const record = (req: IncomingMessage) => {
    const values = (name: string) => req.rawHeaders.filter((_, i) => i % 2 === 1 && req.rawHeaders[i - 1]!.toLowerCase() === name);
    seen.push({ host: values("host"), forwardedHost: values("x-forwarded-host") });
  };
  upstream = createServer((req, res) => {
    record(req);
    res.end("ok");
  });
  upstream.on("upgrade", (req, socket) => {
    record(req);
    socket.end("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n");
  });
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  port = (upstream.address() as AddressInfo).port;
});

afterAll(async () => {
  upstream.closeAllConnections();
  await new Promise((resolve) => upstream.close(resolve));
});

afterEach(async () => {
  seen.length = 0;
  await Promise.all(agents.splice(0).map((a) => a.close(0)));
  await Promise.all(edges.splice(0).map((e) => e.kill()));
});

/** An agent bound through a fake edge with `options`, and the session carrying the bind. */
async function bound(options: Partial<BindOptions>): Promise<{ session: FakeSession; bindId: string }> {
  const edge = await FakeEdge.start();
  edges.push(edge);
  const agent = createAgent({ edge: edge.address, healthCheck: { intervalMs: 0 } });
  agents.push(agent);
  await agent.start();
  const { bindId } = await agent.bind({ upstream: `127.0.0.1:${port}`, ...options });
  return { session: await edge.boundSession(), bindId };
}

/**
 * Sends a request the way the real edge does: the client's Host, and X-Forwarded-Host set to it
 * (services/edge/src/forwarded-headers.ts). Resolves with the status of the agent's answer.
 */
function send(session: FakeSession, bindId: string, upgrade = false): Promise<number> {
  const headers = ["Host", "app.example.test", "X-Forwarded-Host", "app.example.test"];
  if (upgrade) headers.push("Connection", "Upgrade", "Upgrade", "test");
  return new Promise((resolve, reject) => {
    const stream = session.connection!.openStream(encodeRequestHead({ method: "GET", path: "/", headers, bindId, upgrade }), true, {
      onHead: (payload) => {
        resolve(decodeResponseHead(payload).status);
        stream.reset(ErrorCode.ClientClosed, "seen enough");
      },
      onReset: (code, message) => reject(new OnrampError(code, message)),
    });
  });
}

describe("a bind's hostHeader", () => {
  it("is the client's Host by default", async () => {
    const { session, bindId } = await bound({});
    expect(await send(session, bindId)).toBe(200);
    expect(await send(session, bindId, true)).toBe(101);
    expect(seen).toEqual([
      { host: ["app.example.test"], forwardedHost: ["app.example.test"] },
      { host: ["app.example.test"], forwardedHost: ["app.example.test"] },
    ]);
  });

  it("rewrite: the upstream's own host:port, for requests and upgrades; the client's stays in X-Forwarded-Host", async () => {
    const { session, bindId } = await bound({ hostHeader: "rewrite" });
    expect(await send(session, bindId)).toBe(200);
    expect(await send(session, bindId, true)).toBe(101);
    expect(seen).toEqual([
      { host: [`127.0.0.1:${port}`], forwardedHost: ["app.example.test"] },
      { host: [`127.0.0.1:${port}`], forwardedHost: ["app.example.test"] },
    ]);
  });

  it("a value: that Host, once, for requests and upgrades", async () => {
    const { session, bindId } = await bound({ hostHeader: "internal.test:8080" });
    expect(await send(session, bindId)).toBe(200);
    expect(await send(session, bindId, true)).toBe(101);
    expect(seen).toEqual([
      { host: ["internal.test:8080"], forwardedHost: ["app.example.test"] },
      { host: ["internal.test:8080"], forwardedHost: ["app.example.test"] },
    ]);
  });

  it.each(["http://x.test", "x.test/path", "has space", "x.test:0", "x.test:65536", "-x.test", ""])("refuses %j before connecting, naming the option", async (hostHeader) => {
    const agent = createAgent({ edge: "127.0.0.1:1", healthCheck: { intervalMs: 0 } });
    agents.push(agent);
    await expect(agent.bind({ upstream: `127.0.0.1:${port}`, hostHeader })).rejects.toMatchObject({
      code: ErrorCode.InvalidArgument,
      message: `bind option hostHeader: ${JSON.stringify(hostHeader)} is not "rewrite" or a host[:port]`,
    });
  });

  it.each(["localhost", "localhost:3000", "app.internal.", "10.0.0.1:80", "[::1]:8080", "my_app.test"])("takes %j", async (hostHeader) => {
    const { session, bindId } = await bound({ hostHeader });
    expect(await send(session, bindId)).toBe(200);
    expect(seen).toEqual([{ host: [hostHeader], forwardedHost: ["app.example.test"] }]);
  });
});
