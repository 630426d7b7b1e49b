import { ErrorCode } from "@onramp/errors";
import { EventEmitter } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createAgent, type Agent } from "./agent.js";
import { FakeEdge, type FakeEdgeOptions } from "./fake-edge.js";
import type { AgentOptions, AgentStatus } from "./options.js";
import { closedPort, ScriptedUpstream } from "./scripted-upstream.js";

let upstream: Server;
let upstreamAddr: string;
/** Emits "request" as each request reaches the upstream. */
const upstreamEvents = new EventEmitter();
const edges: FakeEdge[] = [];
const agents: Agent[] = [];

beforeAll(async () => {
  // GET /slow/<ms> answers after that long; anything else at once.
  upstream = createServer((req, res) => {
    upstreamEvents.emit("request");
    const slow = /^\/slow\/(\d+)$/.exec(req.url ?? "");
    const answer = () => res.end(slow ? `slept ${slow[1]}` : "hello from upstream");
    if (slow) setTimeout(answer, Number(slow[1]));
    else answer();
  });
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

/** Resolves once `n` more requests reached the upstream. */
function upstreamReceives(n: number): Promise<void> {
  return new Promise((resolve) => {
    const seen = () => {
      if (--n > 0) return;
      upstreamEvents.off("request", seen);
      resolve();
    };
    upstreamEvents.on("request", seen);
  });
}

async function fakeEdge(options: FakeEdgeOptions = {}): Promise<FakeEdge> {
  const edge = await FakeEdge.start(options);
  edges.push(edge);
  return edge;
}

/** An agent with fast reconnects, and its statuses with a way to wait for one. */
function startAgent(edge: string | string[], options: Partial<AgentOptions> = {}) {
  const events = new EventEmitter();
  const statuses: AgentStatus[] = [];
  const agent = createAgent({
    edge,
    reconnectInitialMs: 10,
    reconnectMaxMs: 50,
    handshakeTimeoutMs: 2_000,
    ...options,
    onStatus: (s) => {
      statuses.push(s);
      events.emit("status");
    },
  });
  agents.push(agent);
  const count = (kind: AgentStatus["kind"], edgeAddr?: string) =>
    statuses.filter((s) => s.kind === kind && (edgeAddr === undefined || ("edge" in s && s.edge === edgeAddr))).length;
  /** Resolves once `n` statuses of `kind` (from `edgeAddr`, if given) were reported. */
  const reported = (n: number, kind: AgentStatus["kind"], edgeAddr?: string) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (count(kind, edgeAddr) < n) return;
        clearTimeout(timer);
        events.off("status", check);
        resolve();
      };
      const timer = setTimeout(() => {
        events.off("status", check);
        reject(new Error(`timed out waiting for ${n} × ${kind} ${edgeAddr ?? ""}; saw ${JSON.stringify(statuses.map((s) => s.kind))}`));
      }, 5_000);
      events.on("status", check);
      check();
    });
  return { agent, statuses, reported };
}

describe("an agent with several edges", () => {
  it("holds a session with each, binds every endpoint on each, with one agent id", async () => {
    const [a, b] = [await fakeEdge(), await fakeEdge()];
    const { agent, reported } = startAgent([a.address, b.address]);
    await agent.start();
    const bound = await agent.bind({ upstream: upstreamAddr, url: "http://app.fake.test" });
    await Promise.all([reported(1, "connected", a.address), reported(1, "connected", b.address)]);
    expect(bound.url).toBe("http://app.fake.test");

    const [onA, onB] = [await a.boundSession(), await b.boundSession()];
    expect(onA.binds.get(bound.bindId)?.url).toBe("http://app.fake.test");
    expect(onB.binds.get(bound.bindId)?.url).toBe("http://app.fake.test");
    expect(onA.agentId).toBe(agent.options.agentId);
    expect(onB.agentId).toBe(agent.options.agentId);
    expect(await a.request(onA, bound.bindId)).toEqual({ status: 200, body: "hello from upstream" });
    expect(await b.request(onB, bound.bindId)).toEqual({ status: 200, body: "hello from upstream" });
    expect(agent.edges()).toEqual([
      { edge: a.address, connected: true, sessionId: onA.id, region: "test", extra: false },
      { edge: b.address, connected: true, sessionId: onB.id, region: "test", extra: false },
    ]);
    expect([a.sessions.length, b.sessions.length]).toEqual([1, 1]);
  });

  it("binds the random URL the first edge picked on the others", async () => {
    const [a, b] = [await fakeEdge(), await fakeEdge()];
    const { agent, reported } = startAgent([a.address, b.address]);
    await agent.start();
    await Promise.all([reported(1, "connected", a.address), reported(1, "connected", b.address)]);
    const bound = await agent.bind({ upstream: upstreamAddr });

    const [onA, onB] = [await a.boundSession(), await b.boundSession()];
    expect(onA.bindLog.map((x) => x.url)).toEqual([""]);
    expect(onA.binds.get(bound.bindId)?.url).toBe(bound.url);
    expect(onB.bindLog.map((x) => x.url)).toEqual([bound.url]);
  });

  it("keeps serving through one edge while another is down, then reconnects it and rebinds the same URL", async () => {
    const a = await fakeEdge();
    const b = await fakeEdge();
    const { agent, reported } = startAgent([a.address, b.address]);
    await agent.start();
    await Promise.all([reported(1, "connected", a.address), reported(1, "connected", b.address)]);
    const bound = await agent.bind({ upstream: upstreamAddr });
    await a.boundSession();
    const onB = await b.boundSession();

    await a.kill();
    await reported(1, "disconnected", a.address);
    expect(await b.request(onB, bound.bindId)).toEqual({ status: 200, body: "hello from upstream" });
    expect(agent.edges().map((e) => e.connected)).toEqual([false, true]);

    const back = await fakeEdge({ port: a.port });
    const onBack = await back.boundSession();
    expect(onBack.bindLog.map((x) => [x.bindId, x.url])).toEqual([[bound.bindId, bound.url]]);
    expect(await back.request(onBack, bound.bindId)).toEqual({ status: 200, body: "hello from upstream" });
    expect(b.sessions).toHaveLength(1);
    await reported(2, "connected", a.address);
    expect(agent.edges().map((e) => e.connected)).toEqual([true, true]);
  });

  it("stops with a BIND_CONFLICT from any edge", async () => {
    const a = await fakeEdge();
    const b = await fakeEdge({ bind: () => ErrorCode.BindConflict });
    const { agent, reported } = startAgent([a.address, b.address]);
    await agent.start();
    await Promise.all([reported(1, "connected", a.address), reported(1, "connected", b.address)]);
    // Bound on the first edge, refused by the second.
    await agent.bind({ upstream: upstreamAddr, url: "http://taken.fake.test" });

    const stopped = await agent.stopped();
    expect(stopped?.code).toBe(ErrorCode.BindConflict);
    await a.until(() => a.liveSessions().length === 0, "the agent to leave");
    expect(agent.edges().map((e) => e.connected)).toEqual([false, false]);
  });

  it("rejects the bind and stops when the edge fixing the URL refuses it for good", async () => {
    const a = await fakeEdge({ bind: () => ErrorCode.InvalidUrl });
    const { agent } = startAgent(a.address);
    await agent.start();
    await expect(agent.bind({ upstream: upstreamAddr, url: "http://nope" })).rejects.toMatchObject({ code: ErrorCode.InvalidUrl });
    expect((await agent.stopped())?.code).toBe(ErrorCode.InvalidUrl);
  });

  it("ends only that edge's session on a retryable bind error; it reconnects and binds later", async () => {
    let refusals = 1;
    const a = await fakeEdge();
    const b = await fakeEdge({ bind: () => (refusals-- > 0 ? ErrorCode.RegistryUnavailable : undefined) });
    const { agent, reported } = startAgent([a.address, b.address]);
    let stopped = false;
    void agent.stopped().then(() => (stopped = true));
    await agent.start();
    await Promise.all([reported(1, "connected", a.address), reported(1, "connected", b.address)]);
    const bound = await agent.bind({ upstream: upstreamAddr });

    await reported(1, "bind-failed");
    const onB = await b.boundSession();
    expect(b.sessions).toHaveLength(2);
    expect(onB.binds.get(bound.bindId)?.url).toBe(bound.url);
    expect(a.sessions).toHaveLength(1);
    expect(stopped).toBe(false);
  });

  it("with one edge, a first bind waits through a retryable refusal", async () => {
    let refusals = 2;
    const a = await fakeEdge({ bind: () => (refusals-- > 0 ? ErrorCode.EdgeDraining : undefined) });
    const { agent } = startAgent(a.address);
    await agent.start();
    const bound = await agent.bind({ upstream: upstreamAddr, url: "http://later.fake.test" });
    expect(bound.url).toBe("http://later.fake.test");
    expect(a.sessions).toHaveLength(3);
  });

  it("fails to start on AUTH_FAILED, and stops on AUTH_FAILED from any edge", async () => {
    const refusing = await fakeEdge({ hello: () => ErrorCode.AuthFailed });
    const alone = startAgent(refusing.address);
    await expect(alone.agent.start()).rejects.toMatchObject({ code: ErrorCode.AuthFailed });

    const a = await fakeEdge();
    const both = startAgent([a.address, refusing.address]);
    void both.agent.start().catch(() => undefined);
    expect((await both.agent.stopped())?.code).toBe(ErrorCode.AuthFailed);
    await a.until(() => a.liveSessions().length === 0, "the agent to leave");
    expect(both.agent.edges().map((x) => x.connected)).toEqual([false, false]);
  });
});

describe("extra edges named by Welcome", () => {
  it("holds sessions with up to extraEdges of them, deduplicated, and replaces a lost one no Welcome names", async () => {
    const [c, d, e] = [await fakeEdge(), await fakeEdge(), await fakeEdge()];
    const a = await fakeEdge();
    a.welcomeEdges = [a.address, c.address, d.address, c.address, "not an address", e.address];
    const { agent, reported } = startAgent(a.address, { extraEdges: 2 });
    await agent.start();
    await Promise.all([reported(1, "connected", c.address), reported(1, "connected", d.address)]);
    expect(agent.edges().map((x) => [x.edge, x.extra])).toEqual([
      [a.address, false],
      [c.address, true],
      [d.address, true],
    ]);
    expect(e.sessions).toHaveLength(0);

    // A's next Welcome no longer names C; then C goes away: dropped, and E takes its place.
    a.welcomeEdges = [d.address, e.address];
    a.endSession(a.liveSessions()[0]!);
    await reported(2, "connected", a.address);
    await c.kill();
    await reported(1, "connected", e.address);
    expect(agent.edges().map((x) => x.edge)).toEqual([a.address, d.address, e.address]);
  });

  it("keeps a lost extra edge that a Welcome still names, and rebinds on it", async () => {
    const c = await fakeEdge();
    const a = await fakeEdge({ welcomeEdges: [c.address] });
    const { agent, reported } = startAgent(a.address, { extraEdges: 1 });
    await agent.start();
    await reported(1, "connected", c.address);
    const bound = await agent.bind({ upstream: upstreamAddr });
    await c.boundSession();
    await c.kill();
    await reported(1, "disconnected", c.address);
    const back = await fakeEdge({ port: c.port });
    const onBack = await back.boundSession();
    expect(onBack.binds.get(bound.bindId)?.url).toBe(bound.url);
  });

  it("by default holds only the listed edges", async () => {
    const c = await fakeEdge();
    const a = await fakeEdge({ welcomeEdges: [c.address] });
    const { agent } = startAgent(a.address);
    await agent.start();
    expect(agent.edges()).toHaveLength(1);
    expect(c.sessions).toHaveLength(0);
  });

  it("drops an extra address that reaches an edge it already holds", async () => {
    const a = await fakeEdge({ edgeId: "edge_a" });
    a.welcomeEdges = [`localhost:${a.port}`];
    const { agent } = startAgent(a.address, { extraEdges: 1 });
    await agent.start();
    await a.until(() => a.sessions.length === 2 && a.liveSessions().length === 1, "the duplicate session to end");
    expect(agent.edges().map((x) => x.edge)).toEqual([a.address]);
    await agent.bind({ upstream: upstreamAddr });
    expect(a.sessions).toHaveLength(2);
    expect(a.liveSessions()[0]!.bindLog).toHaveLength(1);
  });
});

describe("draining", () => {
  it("on the edge's drain command, lets in-flight requests run up to drainTimeoutMs, then reconnects", async () => {
    const a = await fakeEdge();
    const b = await fakeEdge();
    const { agent } = startAgent([a.address, b.address], { drainTimeoutMs: 300 });
    await agent.start();
    const bound = await agent.bind({ upstream: upstreamAddr });
    const [onA, onB] = [await a.boundSession(), await b.boundSession()];

    const arrived = upstreamReceives(2);
    const finishes = a.request(onA, bound.bindId, "/slow/100");
    const outlives = a.request(onA, bound.bindId, "/slow/10000").catch((err: Error) => err);
    await arrived;
    const drainedAt = performance.now();
    a.drain(onA);
    expect(await finishes).toEqual({ status: 200, body: "slept 100" });
    expect(await b.request(onB, bound.bindId)).toEqual({ status: 200, body: "hello from upstream" });
    expect(await outlives).toMatchObject({ code: ErrorCode.AgentDisconnected });
    await a.until(() => onA.ended, "the drained session to end");
    const tookMs = onA.endedAt - drainedAt;
    expect(tookMs).toBeGreaterThanOrEqual(280);
    expect(tookMs).toBeLessThan(2_000);

    const again = await a.boundSession();
    expect(again.binds.get(bound.bindId)?.url).toBe(bound.url);
  });

  it("close() unbinds on every edge, drains all of them, then stops", async () => {
    const a = await fakeEdge();
    const b = await fakeEdge();
    const { agent } = startAgent([a.address, b.address], { drainTimeoutMs: 5_000 });
    await agent.start();
    const bound = await agent.bind({ upstream: upstreamAddr });
    const [onA, onB] = [await a.boundSession(), await b.boundSession()];
    const arrived = upstreamReceives(1);
    const inFlight = a.request(onA, bound.bindId, "/slow/200");
    await arrived;

    await agent.close();
    expect(await inFlight).toEqual({ status: 200, body: "slept 200" });
    expect(onA.unbinds).toEqual([bound.bindId]);
    expect(onB.unbinds).toEqual([bound.bindId]);
    expect(await agent.stopped()).toBeUndefined();
    await a.until(() => onA.ended, "A's session to end");
    await b.until(() => onB.ended, "B's session to end");
    expect([a.sessions.length, b.sessions.length]).toEqual([1, 1]);
  });

  it("close() gives in-flight requests at most drainTimeoutMs by default", async () => {
    const a = await fakeEdge();
    const { agent } = startAgent(a.address, { drainTimeoutMs: 200 });
    await agent.start();
    const bound = await agent.bind({ upstream: upstreamAddr });
    const onA = await a.boundSession();
    const arrived = upstreamReceives(1);
    const inFlight = a.request(onA, bound.bindId, "/slow/10000").catch((err: Error) => err);
    await arrived;
    const started = performance.now();
    await agent.close();
    const tookMs = performance.now() - started;
    expect(tookMs).toBeGreaterThanOrEqual(180);
    expect(tookMs).toBeLessThan(2_000);
    expect(await inFlight).toMatchObject({ code: ErrorCode.AgentDisconnected });
  });
});

describe("upstream health checks", () => {
  const upstreams: ScriptedUpstream[] = [];
  afterEach(async () => {
    await Promise.all(upstreams.splice(0).map((u) => u.close()));
  });

  it("tells every edge carrying the bind when its upstream turns unhealthy, and when it recovers", async () => {
    const up = await ScriptedUpstream.start();
    upstreams.push(up);
    const [a, b] = [await fakeEdge(), await fakeEdge()];
    const { agent, statuses, reported } = startAgent([a.address, b.address], { healthCheck: { path: "/healthz", intervalMs: 50 } });
    await agent.start();
    await Promise.all([reported(1, "connected", a.address), reported(1, "connected", b.address)]);
    const bound = await agent.bind({ upstream: up.origin });
    const [onA, onB] = [await a.boundSession(), await b.boundSession()];
    const reports = (s: typeof onA) => s.health.map((h) => [h.bindId, h.healthy, h.detail]);

    up.status = 503;
    await a.until(() => onA.health.length === 1, "an unhealthy report");
    await b.until(() => onB.health.length === 1, "an unhealthy report");
    expect(reports(onA)).toEqual([[bound.bindId, false, "GET /healthz: 503"]]);
    expect(reports(onB)).toEqual([[bound.bindId, false, "GET /healthz: 503"]]);
    await reported(1, "health");
    expect(statuses.filter((s) => s.kind === "health")).toEqual([{ kind: "health", bindId: bound.bindId, upstream: up.origin, healthy: false, detail: "GET /healthz: 503" }]);

    up.status = 200;
    await a.until(() => onA.health.length === 2, "a healthy report");
    await b.until(() => onB.health.length === 2, "a healthy report");
    expect(reports(onA)[1]).toEqual([bound.bindId, true, "GET /healthz: 200"]);
    expect(reports(onB)[1]).toEqual([bound.bindId, true, "GET /healthz: 200"]);
    await reported(2, "health");
  });

  it("reports an unhealthy upstream right after the bind on a new session, as after a reconnect", async () => {
    const port = await closedPort();
    const a = await fakeEdge();
    const { agent, reported } = startAgent(a.address, { healthCheck: { intervalMs: 50 } });
    await agent.start();
    const bound = await agent.bind({ upstream: `127.0.0.1:${port}` });
    await reported(1, "health");
    const first = await a.boundSession();
    await a.until(() => first.health.length === 1, "the unhealthy report");

    a.endSession(first);
    await a.until(() => a.sessions.length === 2 && a.sessions[1]!.health.length === 1, "a new session with the report");
    const again = a.sessions[1]!;
    expect(again.bindLog.map((x) => x.bindId)).toEqual([bound.bindId]);
    expect(again.health.map((h) => [h.bindId, h.healthy, h.detail])).toEqual([[bound.bindId, false, `connect ECONNREFUSED 127.0.0.1:${port}`]]);
  });
});
