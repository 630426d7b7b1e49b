import { ErrorCode, OnrampError } from "@onramp/errors";
import { createAgentMetrics } from "@onramp/telemetry";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createAgent, type Agent } from "./agent.js";
import { createAgentMeter } from "./agent-metrics.js";
import { FakeEdge } from "./fake-edge.js";
import { closedPort } from "./scripted-upstream.js";

let upstream: Server;
let upstreamAddr: string;
const edges: FakeEdge[] = [];
const agents: Agent[] = [];

beforeAll(async () => {
  upstream = createServer((_req, res) => res.end("hello"));
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

/** A fake edge and an agent connected to it, with the agent's metrics fed by a meter. */
async function meteredAgent() {
  const edge = await FakeEdge.start();
  edges.push(edge);
  const metrics = createAgentMetrics();
  const meter = createAgentMeter(metrics);
  // No health checks: their statuses are tested on their own below.
  const agent = createAgent({ edge: edge.address, reconnectInitialMs: 10, reconnectMaxMs: 50, healthCheck: { intervalMs: 0 }, observe: meter.observe, onStatus: meter.onStatus });
  agents.push(agent);
  meter.countSessionsOf(agent);
  await agent.start();
  return { edge, agent, metrics, meter };
}

interface Scraped {
  get(): Promise<{ values: Array<{ labels: Record<string, unknown>; value: number }> }>;
}

/** Every series of `metric`, as its labels with the value. */
async function series(metric: Scraped) {
  return (await metric.get()).values.map((v) => ({ ...v.labels, value: v.value }));
}

/** The value of the series of `metric` that has `labels` (among others). */
async function valueOf(metric: Scraped, labels: Record<string, string>): Promise<number | undefined> {
  return (await metric.get()).values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val))?.value;
}

describe("the agent's metrics", () => {
  it("count a request forwarded to the upstream: endpoint, status, duration, bytes, nothing left in flight", async () => {
    const { edge, agent, metrics } = await meteredAgent();
    const bound = await agent.bind({ upstream: upstreamAddr, url: "http://app.fake.test" });
    const session = await edge.boundSession();
    expect(await edge.request(session, bound.bindId, "/a")).toEqual({ status: 200, body: "hello" });
    expect(await edge.request(session, bound.bindId, "/b")).toEqual({ status: 200, body: "hello" });

    expect(await series(metrics.requests)).toEqual([{ endpoint: "http://app.fake.test", code: "200", error_code: "", value: 2 }]);
    expect(await valueOf(metrics.requestDuration, { endpoint: "http://app.fake.test", le: "+Inf" })).toBe(2);
    expect(await series(metrics.bytes)).toEqual([{ direction: "response", value: 10 }]);
    expect(await series(metrics.activeRequests)).toEqual([{ value: 0 }]);
    expect(await series(metrics.upstreamErrors)).toEqual([]);
  });

  it("count an upstream that refuses as an upstream error, with the status the edge answers", async () => {
    const { edge, agent, metrics } = await meteredAgent();
    const bound = await agent.bind({ upstream: `127.0.0.1:${await closedPort()}`, url: "http://down.fake.test" });
    const session = await edge.boundSession();
    await expect(edge.request(session, bound.bindId)).rejects.toMatchObject({ code: ErrorCode.UpstreamRefused });

    expect(await series(metrics.requests)).toEqual([{ endpoint: "http://down.fake.test", code: "502", error_code: "UPSTREAM_REFUSED", value: 1 }]);
    expect(await series(metrics.upstreamErrors)).toEqual([{ error_code: "UPSTREAM_REFUSED", value: 1 }]);
    expect(await series(metrics.activeRequests)).toEqual([{ value: 0 }]);
  });

  it("show the session by edge address, binds by result, and a lost session as a reconnect", async () => {
    const { edge, agent, metrics } = await meteredAgent();
    await agent.bind({ upstream: upstreamAddr, url: "http://app.fake.test" });
    expect(await series(metrics.sessions)).toEqual([{ edge: edge.address, value: 1 }]);
    expect(await series(metrics.binds)).toEqual([{ result: "ok", value: 1 }]);

    await edge.kill();
    await vi.waitFor(async () => expect(await valueOf(metrics.reconnects, { edge: edge.address, problem: "lost" })).toBeGreaterThanOrEqual(1), { timeout: 5_000 });
    expect(await series(metrics.sessions)).toEqual([{ edge: edge.address, value: 0 }]);
  });

  it("show each endpoint's upstream health from health statuses, also when one came before the bind", async () => {
    const metrics = createAgentMetrics();
    const meter = createAgentMeter(metrics);
    meter.onStatus({ kind: "health", bindId: "b2", upstream: "http://localhost:2", healthy: false, detail: "refused" });
    meter.onStatus({ kind: "bound", bindId: "b1", url: "http://one.test", edge: "e:1" });
    meter.onStatus({ kind: "bound", bindId: "b2", url: "http://two.test", edge: "e:1" });
    expect(await series(metrics.upstreamHealthy)).toEqual([
      { endpoint: "http://one.test", value: 1 },
      { endpoint: "http://two.test", value: 0 },
    ]);
    meter.onStatus({ kind: "health", bindId: "b1", upstream: "http://localhost:1", healthy: false, detail: "refused" });
    meter.onStatus({ kind: "health", bindId: "b2", upstream: "http://localhost:2", healthy: true, detail: "ok" });
    expect(await series(metrics.upstreamHealthy)).toEqual([
      { endpoint: "http://one.test", value: 0 },
      { endpoint: "http://two.test", value: 1 },
    ]);
    meter.onStatus({ kind: "bind-failed", bindId: "b3", error: new OnrampError(ErrorCode.BindConflict, "taken"), edge: "e:1" });
    expect(await series(metrics.binds)).toEqual([
      { result: "ok", value: 2 },
      { result: "BIND_CONFLICT", value: 1 },
    ]);
  });
});
