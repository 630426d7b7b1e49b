import { encodeResponseHead, type MuxConnection } from "@onramp/mux";
import { createEdgeMetrics, type EdgeMetrics } from "@onramp/telemetry";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { afterEach, describe, expect, it, vi } from "vitest";
import { pickRoute } from "./dispatch.js";
import { parseEndpointUrl } from "./endpoint-url.js";
import { fakeAgentConnection, type FakeAgentBehaviour } from "./fake-agent.js";
import { poolMemberCensus } from "./pool-census.js";
import { routingMeterOf } from "./routing-meter.js";
import { RoutingTable, type Member, type StreamOpener } from "./routing-table.js";
import { proxyUpgrade } from "./upgrade-proxy.js";

const closers: Array<() => void> = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

interface Scraped {
  get(): Promise<{ values: Array<{ labels: Record<string, unknown>; value: number }> }>;
}

/** Every series of `metric`, as its labels with the value. */
async function series(metric: Scraped): Promise<Array<Record<string, unknown>>> {
  return (await metric.get()).values.map((v) => ({ ...v.labels, value: v.value }));
}

function member(id: string, edge: string, region: string, opener: () => StreamOpener | undefined = () => ({}) as MuxConnection): Member {
  return { id, bindId: id, edge, region, agentId: id, sessionId: id, upstream: "", local: edge === "here", policy: undefined, opener };
}

/** A table of this edge ("here", region "r") metered into `metrics`, with `members` in one pool. */
function tableWith(metrics: EdgeMetrics, url: string, ...members: Member[]) {
  const table = new RoutingTable("r", routingMeterOf(metrics));
  table.localEdge = "here";
  for (const m of members) table.addMember(parseEndpointUrl(url), true, m);
  metrics.countPoolMembers(poolMemberCensus(table, metrics.endpointLabel));
  return { table, endpoint: table.lookup(new URL(url).hostname, true)! };
}

describe("pool metrics", () => {
  it("count each pick by the tier it came from, and picks made in panic", async () => {
    const metrics = createEdgeMetrics();
    const { endpoint } = tableWith(metrics, "https://pool.internal", member("near", "here", "r"), member("far", "there", "elsewhere"));
    pickRoute(endpoint).release();
    expect(await series(metrics.poolPicks)).toEqual([{ tier: "edge", panic: "false", value: 1 }]);

    // Nobody healthy: health is ignored (panic), and the near member still comes first.
    endpoint.pool.setHealthy("near", false);
    endpoint.pool.setHealthy("far", false);
    pickRoute(endpoint).release();
    expect(await series(metrics.poolPicks)).toContainEqual({ tier: "edge", panic: "true", value: 1 });

    // Only the member in another region can take it.
    endpoint.pool.setHealthy("far", true);
    pickRoute(endpoint).release();
    expect(await series(metrics.poolPicks)).toContainEqual({ tier: "other", panic: "false", value: 1 });
  });

  it("do not count a member passed over for having no route", async () => {
    const metrics = createEdgeMetrics();
    const { endpoint } = tableWith(metrics, "https://pool.internal", member("near", "here", "r", () => undefined), member("same-region", "next-door", "r"));
    expect(pickRoute(endpoint).member.id).toBe("same-region");
    expect(await series(metrics.poolPicks)).toEqual([{ tier: "region", panic: "false", value: 1 }]);
  });

  it("count members by endpoint and state at each scrape, ejections included", async () => {
    const metrics = createEdgeMetrics();
    const ids = ["draining", "unready", "unhealthy", "ejected", "ok1", "ok2"];
    const { endpoint } = tableWith(metrics, "https://pool.internal", ...ids.map((id) => member(id, "here", "r")));
    endpoint.pool.setDraining("draining", true);
    endpoint.pool.setReady("unready", false);
    endpoint.pool.setHealthy("unhealthy", false);
    // The outlier detector's default: five failures in a row.
    for (let i = 0; i < 5; i++) endpoint.pool.report("ejected", "5xx", Date.now());
    const byState = async () => Object.fromEntries((await series(metrics.poolMembers)).map((s) => [s.state, s.value]));
    expect(await series(metrics.poolMembers)).toContainEqual({ endpoint: "https://pool.internal", state: "available", value: 2 });
    expect(await byState()).toEqual({ draining: 1, unready: 1, unhealthy: 1, ejected: 1, available: 2 });

    endpoint.pool.setHealthy("unhealthy", true);
    expect(await byState()).toEqual({ draining: 1, unready: 1, unhealthy: 0, ejected: 1, available: 3 });
  });
});

/** An edge's public listener taking only upgrades, over a pool of fake agents at http://ws.test. */
async function upgradeListener(metrics: EdgeMetrics, behaviour: FakeAgentBehaviour): Promise<string> {
  const agent = await fakeAgentConnection(behaviour);
  closers.push(agent.close);
  const { table } = tableWith(metrics, "http://ws.test", member("m", "here", "r", () => agent.connection));
  const server: Server = createServer((_req, res) => res.writeHead(426).end());
  server.on("upgrade", (req, socket: Duplex, head: Buffer) => proxyUpgrade(table, undefined, req, socket, head));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  closers.push(() => {
    server.closeAllConnections();
    server.close();
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Asks for an upgrade with Host `host`: the socket when switched, else the status. */
function askUpgrade(base: string, host: string): Promise<{ switched: Duplex } | { status: number }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/ws`, { headers: { host, connection: "Upgrade", upgrade: "test" }, agent: false });
    req.on("upgrade", (_res, socket) => resolve({ switched: socket }));
    req.on("response", (res) => {
      res.resume();
      resolve({ status: res.statusCode! });
    });
    req.on("error", reject);
    req.end();
  });
}

/** Switches protocols, and closes its side when the client closes its own, as an upstream would. */
const switches: FakeAgentBehaviour = (stream) => {
  stream.handler.onEnd = () => stream.end();
  stream.sendHead(encodeResponseHead({ status: 101, statusText: "Switching Protocols", headers: ["connection", "Upgrade", "upgrade", "test"] }), false);
};
const refuses: FakeAgentBehaviour = (stream) => stream.sendHead(encodeResponseHead({ status: 400, statusText: "Bad Request", headers: [] }), true);

describe("upgrade metrics", () => {
  it("count a switched upgrade and hold it in the open connections until it closes", async () => {
    const metrics = createEdgeMetrics();
    const base = await upgradeListener(metrics, switches);
    const answer = await askUpgrade(base, "ws.test");
    if (!("switched" in answer)) throw new Error(`no switch: ${answer.status}`);
    expect(await series(metrics.upgrades)).toEqual([{ result: "switched", value: 1 }]);
    expect(await series(metrics.upgradedConnections)).toEqual([{ value: 1 }]);
    answer.switched.end();
    await vi.waitFor(async () => expect(await series(metrics.upgradedConnections)).toEqual([{ value: 0 }]));
  });

  it("count an upstream that answers without switching, and a host nobody serves", async () => {
    const metrics = createEdgeMetrics();
    const base = await upgradeListener(metrics, refuses);
    expect(await askUpgrade(base, "ws.test")).toEqual({ status: 400 });
    expect(await askUpgrade(base, "nobody.test")).toEqual({ status: 404 });
    expect(await series(metrics.upgrades)).toEqual([
      { result: "refused", value: 1 },
      { result: "unrouted", value: 1 },
    ]);
    expect(await series(metrics.upgradedConnections)).toEqual([{ value: 0 }]);
  });
});
