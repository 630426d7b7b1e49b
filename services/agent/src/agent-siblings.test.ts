import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createAgent, type Agent } from "./agent.js";
import { FakeEdge, type FakeEdgeOptions } from "./fake-edge.js";
import type { AgentOptions } from "./options.js";

// The worker processes of one edge (`onramp edge --workers N`) each have their own agent port;
// the Welcome of each names the others (`siblings`), and the agent holds a session with every one.

let upstream: Server;
let upstreamAddr: string;
const edges: FakeEdge[] = [];
const agents: Agent[] = [];

beforeAll(async () => {
  upstream = createServer((_req, res) => res.end("hello from upstream"));
  await new Promise<void>((resolve) => upstream.listen(0, "127.0.0.1", resolve));
  upstreamAddr = `127.0.0.1:${(upstream.address() as AddressInfo).port}`;
});

afterAll(async () => {
  upstream.closeAllConnections();
  await new Promise((resolve) => upstream.close(resolve));
});

afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.close(0)));
  await Promise.all(edges.splice(0).map((e) => e.kill()));
});

async function fakeEdge(options: FakeEdgeOptions = {}): Promise<FakeEdge> {
  const edge = await FakeEdge.start(options);
  edges.push(edge);
  return edge;
}

/** Three workers of one edge, each naming the other two, as `onramp edge --workers 3` does. */
async function workers(): Promise<[FakeEdge, FakeEdge, FakeEdge]> {
  const all = [await fakeEdge(), await fakeEdge(), await fakeEdge()] as const;
  for (const w of all) w.welcomeSiblings = all.filter((o) => o !== w).map((o) => o.address);
  return [...all];
}

function startAgent(edge: string, options: Partial<AgentOptions> = {}): Agent {
  const agent = createAgent({ edge, reconnectInitialMs: 10, reconnectMaxMs: 50, handshakeTimeoutMs: 2_000, ...options });
  agents.push(agent);
  return agent;
}

/** Resolves once the agent's edges (address → connected) are `expected`; bounded by vi.waitFor. */
function edgesBecome(agent: Agent, expected: Array<[string, boolean]>): Promise<void> {
  return vi.waitFor(() => expect(agent.edges().map((e) => [e.edge, e.connected])).toEqual(expected), { timeout: 5_000, interval: 10 });
}

describe("sibling workers named by Welcome", () => {
  it("holds a session with the edge and each sibling, whatever extraEdges, and binds every endpoint on all", async () => {
    const [w0, w1, w2] = await workers();
    const other = await fakeEdge();
    w0.welcomeEdges = [other.address];
    const agent = startAgent(w0.address, { extraEdges: 0 });
    await agent.start();
    const bound = await agent.bind({ upstream: upstreamAddr, url: "http://app.fake.test" });

    for (const worker of [w0, w1, w2]) {
      const session = await worker.boundSession();
      expect(session.binds.get(bound.bindId)?.url).toBe("http://app.fake.test");
      expect(await worker.request(session, bound.bindId)).toEqual({ status: 200, body: "hello from upstream" });
    }
    await edgesBecome(agent, [
      [w0.address, true],
      [w1.address, true],
      [w2.address, true],
    ]);
    expect(agent.edges().map((e) => [e.sibling ?? false, e.extra])).toEqual([
      [false, false],
      [true, false],
      [true, false],
    ]);
    // Siblings are not extra edges: with extraEdges 0 the mesh's other edge gets no session.
    expect(other.sessions).toHaveLength(0);
    // One session each: siblings naming each other (and the edge) add no duplicates.
    expect([w0, w1, w2].map((w) => w.sessions.length)).toEqual([1, 1, 1]);
  });

  it("keeps a lost sibling that a Welcome still names, and rebinds on it when it is back", async () => {
    const [w0, w1, w2] = await workers();
    const agent = startAgent(w0.address);
    await agent.start();
    const bound = await agent.bind({ upstream: upstreamAddr });
    await w2.boundSession();
    await w2.kill();
    await edgesBecome(agent, [
      [w0.address, true],
      [w1.address, true],
      [w2.address, false],
    ]);
    const back = await fakeEdge({ port: w2.port });
    const onBack = await back.boundSession();
    expect(onBack.binds.get(bound.bindId)?.url).toBe(bound.url);
  });

  it("drops a lost sibling that no Welcome names any more", async () => {
    const [w0, w1, w2] = await workers();
    const agent = startAgent(w0.address);
    await agent.start();
    await agent.bind({ upstream: upstreamAddr });
    await Promise.all([w1.boundSession(), w2.boundSession()]);

    // The edge now runs two workers: the next Welcomes name no w2, then w2 goes away.
    w0.welcomeSiblings = [w1.address];
    w1.welcomeSiblings = [w0.address];
    for (const w of [w0, w1]) w.endSession(w.liveSessions()[0]!);
    await Promise.all([w0.until(() => w0.sessions.length === 2, "a new session"), w1.until(() => w1.sessions.length === 2, "a new session")]);
    await w2.kill();
    await edgesBecome(agent, [
      [w0.address, true],
      [w1.address, true],
    ]);
  });

  it("drops a sibling address that reaches an edge it already holds, before binding there", async () => {
    const w0 = await fakeEdge({ edgeId: "edge_w0" });
    w0.welcomeSiblings = [`localhost:${w0.port}`];
    const agent = startAgent(w0.address);
    await agent.start();
    await w0.until(() => w0.sessions.length === 2 && w0.liveSessions().length === 1, "the duplicate session to end");
    expect(agent.edges().map((e) => e.edge)).toEqual([w0.address]);
    await agent.bind({ upstream: upstreamAddr });
    expect(w0.sessions).toHaveLength(2);
    expect(w0.liveSessions()[0]!.bindLog).toHaveLength(1);
  });
});
