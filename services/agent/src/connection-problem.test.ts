import { ErrorCode } from "@onramp/errors";
import { EventEmitter } from "node:events";
import { createServer as createHttpServer } from "node:http";
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createAgent, type Agent } from "./agent.js";
import { transportFailure } from "./connection-problem.js";
import { FakeEdge, type FakeEdgeOptions } from "./fake-edge.js";
import type { AgentOptions, AgentStatus } from "./options.js";
import { closedPort } from "./scripted-upstream.js";

type Disconnected = Extract<AgentStatus, { kind: "disconnected" }>;

const agents: Agent[] = [];
const edges: FakeEdge[] = [];
const servers: Server[] = [];

afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.close(0)));
  await Promise.all(edges.splice(0).map((e) => e.kill()));
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

async function fakeEdge(options: FakeEdgeOptions = {}): Promise<FakeEdge> {
  const edge = await FakeEdge.start(options);
  edges.push(edge);
  return edge;
}

/** A server on a loopback port; its sockets are destroyed when the test ends. */
async function listening(server: Server): Promise<string> {
  const sockets = new Set<Socket>();
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  const close = server.close.bind(server);
  server.close = (cb?: (err?: Error) => void) => {
    for (const s of sockets) s.destroy();
    return close(cb);
  };
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** An agent with fast retries; `next(kind)` waits for its next status of that kind. */
function startAgent(edge: string, options: Partial<AgentOptions> = {}) {
  const statuses = new EventEmitter();
  const agent = createAgent({ edge, reconnectInitialMs: 10, reconnectMaxMs: 50, handshakeTimeoutMs: 2_000, ...options, onStatus: (s) => statuses.emit(s.kind, s) });
  agents.push(agent);
  const next = <K extends AgentStatus["kind"]>(kind: K) =>
    new Promise<Extract<AgentStatus, { kind: K }>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${kind} status within 5 s`)), 5_000);
      statuses.once(kind, (s) => {
        clearTimeout(timer);
        resolve(s);
      });
    });
  return { agent, next };
}

/** The first `disconnected` status of an agent pointed at `edge`. */
async function firstProblem(edge: string, options: Partial<AgentOptions> = {}): Promise<Disconnected> {
  const { agent, next } = startAgent(edge, options);
  const problem = next("disconnected");
  agent.start().catch(() => undefined);
  return await problem;
}

describe("the agent says why it has no session, in plain words", () => {
  it("refused: nothing listens at the address", async () => {
    const addr = `127.0.0.1:${await closedPort()}`;
    const s = await firstProblem(addr);
    expect(s).toMatchObject({ problem: "refused", reason: "connection refused", edge: addr });
    expect(s.error.message).toBe(`connection to the edge at ${addr} failed: connection refused`);
    expect(s.retryInMs).toBeGreaterThanOrEqual(0);
  });

  it("timeout: something accepts the connection but never answers", async () => {
    const addr = await listening(createNetServer(() => undefined));
    const s = await firstProblem(addr, { handshakeTimeoutMs: 200 });
    expect(s).toMatchObject({ problem: "timeout", reason: "no answer within 200 ms" });
  });

  it("protocol: an HTTP/1.1 server, such as the edge's HTTP port", async () => {
    const addr = await listening(createHttpServer((_, res) => res.end("hi")) as unknown as Server);
    expect(await firstProblem(addr)).toMatchObject({ problem: "protocol", reason: "not a gRPC server" });
  });

  it("unreachable: the connection is closed as soon as it opens", async () => {
    const addr = await listening(createNetServer((socket) => socket.destroy()));
    expect(await firstProblem(addr)).toMatchObject({ problem: "unreachable", reason: "the connection closed during setup" });
  });

  it("lost, only for a session that was up; then connected again", async () => {
    const edge = await fakeEdge();
    const { agent, next } = startAgent(edge.address);
    await agent.start();
    const lost = next("disconnected");
    await edge.kill();
    const s = await lost;
    expect(s.problem).toBe("lost");
    expect(["the connection dropped", "a data connection closed", "the edge ended the session"]).toContain(s.reason);
    // The same address, now closed: never welcomed, so not "lost" again.
    expect(await next("disconnected")).toMatchObject({ problem: "refused", reason: "connection refused" });
    const back = await fakeEdge({ port: edge.port });
    const connected = next("connected");
    await back.boundSession(0);
    expect(await connected).toMatchObject({ kind: "connected", edge: edge.address });
  });

  it("draining: the edge asked the agent to go, with the edge's reason", async () => {
    const edge = await fakeEdge();
    const { agent, next } = startAgent(edge.address);
    await agent.start();
    const drained = next("disconnected");
    edge.drain(edge.liveSessions()[0]!, "edge shutting down");
    const s = await drained;
    expect(s).toMatchObject({ problem: "draining", reason: "edge shutting down" });
    expect(s.error.code).toBe(ErrorCode.EdgeDraining);
  });

  it("an edge whose workers are starting says when to ask again: the agent asks then, not after its backoff", async () => {
    let refusals = 3;
    const edge = await fakeEdge({ hello: () => (refusals-- > 0 ? { code: ErrorCode.EdgeDraining, retryAfterMs: 60 } : undefined) });
    // A backoff of seconds: each retry must come after the edge's 60 ms (to 120 ms, spread at random).
    const { agent, next } = startAgent(edge.address, { reconnectInitialMs: 5_000, reconnectMaxMs: 30_000 });
    let refused = next("disconnected");
    const started = agent.start();
    const delays: number[] = [];
    for (let i = 0; i < 3; i++) {
      const s = await refused;
      if (i < 2) refused = next("disconnected");
      expect(s).toMatchObject({ problem: "draining", reason: "refused by the fake edge: EDGE_DRAINING" });
      delays.push(s.retryInMs);
    }
    await started;
    expect(delays.filter((ms) => ms < 60 || ms > 120)).toEqual([]);
    expect(edge.sessions).toHaveLength(1);
  });

  it("an edge that says to ask again in 0 ms is still asked no sooner than 50 ms on, not in a loop", async () => {
    let refusals = 1;
    const edge = await fakeEdge({ hello: () => (refusals-- > 0 ? { code: ErrorCode.EdgeDraining, retryAfterMs: 0 } : undefined) });
    const { agent, next } = startAgent(edge.address, { reconnectInitialMs: 5_000, reconnectMaxMs: 30_000 });
    const refused = next("disconnected");
    const started = agent.start();
    const { retryInMs } = await refused;
    await started;
    expect(retryInMs).toBeGreaterThanOrEqual(50);
    expect(retryInMs).toBeLessThanOrEqual(100);
  });

  it("edge-error: a retryable refusal keeps the edge's message", async () => {
    let refusals = 1;
    const edge = await fakeEdge({ bind: () => (refusals-- > 0 ? ErrorCode.RegistryUnavailable : undefined) });
    const { agent, next } = startAgent(edge.address);
    await agent.start();
    const refused = next("disconnected");
    void agent.bind({ upstream: "127.0.0.1:1" }).catch(() => undefined);
    expect(await refused).toMatchObject({ problem: "edge-error", reason: "refused by the fake edge: REGISTRY_UNAVAILABLE" });
  });
});

describe("an edge that refuses the authtoken stops the agent, saying which case it is", () => {
  it("no authtoken given", async () => {
    const edge = await fakeEdge({ hello: () => ErrorCode.AuthFailed });
    const { agent } = startAgent(edge.address);
    const error = await agent.start().then(() => undefined, (e: unknown) => e);
    expect(error).toMatchObject({
      code: ErrorCode.AuthFailed,
      message: `no authtoken given; the edge at ${edge.address} requires one: pass --authtoken, set ONRAMP_AUTHTOKEN, or run \`onramp config add-authtoken TOKEN\``,
    });
  });

  it("authtoken rejected", async () => {
    const edge = await fakeEdge({ hello: () => ErrorCode.AuthFailed });
    const { agent } = startAgent(edge.address, { authtoken: "wrong" });
    const error = await agent.start().then(() => undefined, (e: unknown) => e);
    expect(error).toMatchObject({
      code: ErrorCode.AuthFailed,
      message: `authtoken rejected by the edge at ${edge.address}; check --authtoken, ONRAMP_AUTHTOKEN or the authtoken in your config`,
    });
  });
});

describe("transportFailure", () => {
  const grpc = (code: number, details: string) => Object.assign(new Error(`${code} X: ${details}`), { code, details });
  it.each([
    [grpc(14, "No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:1. Resolution note: "), "refused", "connection refused"],
    [grpc(14, "Name resolution failed for target dns:nosuch.invalid:4443"), "dns", "host name not found"],
    [grpc(14, "No connection established. Last error: Error: getaddrinfo EAI_AGAIN edge.example"), "dns", "name lookup failed (temporary DNS error)"],
    [grpc(14, "No connection established. Last error: Error: connect ETIMEDOUT 10.0.0.1:4443"), "timeout", "connection timed out"],
    [grpc(14, "No connection established. Last error: Error: connect EHOSTUNREACH 10.0.0.1:4443"), "unreachable", "host unreachable"],
    [grpc(14, "No connection established. Last error: Error: write EPROTO SSL routines:ssl3_get_record:wrong version number"), "tls", "TLS handshake failed"],
    [grpc(14, "No connection established. Last error: Protocol error (2026-01-01T00:00:00.000Z). Resolution note: "), "protocol", "not a gRPC server"],
    [grpc(14, "Connection dropped"), "unreachable", "the connection dropped"],
    [grpc(12, "The server does not implement the method /onramp.v1.AgentService/Connect"), "protocol", "no Onramp agent service there"],
    [grpc(13, "something else"), "unreachable", "connection failed (gRPC INTERNAL)"],
    [grpc(14, "anything new"), "unreachable", "connection failed"],
    [Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" }), "refused", "connection refused"],
    [Object.assign(new Error("getaddrinfo ENOTFOUND edge.example"), { code: "ENOTFOUND" }), "dns", "host name not found"],
  ])("%s → %s", (err, problem, reason) => {
    const failure = transportFailure(err);
    expect([failure.problem, failure.reason]).toEqual([problem, reason]);
    expect(failure.cause).toBe(err);
  });
});
