import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, send } from "../harness/http-client.js";
import { startLoad, type LoadRequest, type LoadRun } from "../harness/load.js";
import { membersAt, startMesh, startMeshAgent, startMeshEdge, type Mesh, type MeshEdge } from "../harness/mesh.js";
import { stopAll, type RunningProcess } from "../harness/processes.js";
import { startDrillUpstream, type DrillUpstream } from "./drill-upstream.js";
import { atMostOnePerMille, measure, noneFailed, noneWaitsOver, renderTable, retriedAt, type DrillFigures, type DrillResult } from "./measure.js";

// The failover drills of docs/failover.md: steady load through a cloud endpoint on edge A to a
// pool of three agents on https://foo.internal, one behind each of three edges in three regions
// (real etcd, a real 3-node NATS cluster, the built CLI). Each drill breaks one part mid-load and
// measures what clients saw; the next drill first restores a pool of three fresh members.
// By hand: npx vitest run --project e2e e2e/drills  (table in .test-results/drills.md)

const POOL_URL = "https://foo.internal";
const API_HOST = "api.e2e.localhost";
const CLOUD = `
cloud_endpoints:
  - url: http://${API_HOST}
    traffic_policy:
      on_http_request:
        - actions: [{type: forward-internal, config: {url: "${POOL_URL}"}}]
`;
/** Requests/s through A; with 50 ms upstreams about ten requests are in flight when a drill strikes. */
const RATE = 200;
/** Every drill strikes 3 s into its load: 2 s of steady traffic (after a 1 s warm-up) as the baseline. */
const STRIKE_AT_MS = 3_000;
const RESULTS_DIR = fileURLToPath(new URL("../../.test-results/", import.meta.url));

type Site = "a" | "b" | "c";
interface PoolMember {
  agentId: string;
  upstream: DrillUpstream;
  proc: RunningProcess;
}

let mesh: Mesh;
const edge = (site: Site): MeshEdge => mesh.edges[site]!;
const members = {} as Record<Site, PoolMember>;
/** Sites whose member the last drill broke; replaced before the next one. */
const broken = new Set<Site>();
const upstreams: DrillUpstream[] = [];
const results: DrillResult[] = [];
let incarnation = 0;

async function startMember(site: Site): Promise<PoolMember> {
  // A fresh agent id each time: a replacement is a new member, with no ejection history.
  const agentId = `pool-${site}-${++incarnation}`;
  const upstream = await startDrillUpstream(agentId);
  upstreams.push(upstream);
  const { proc } = await startMeshAgent(agentId, [edge(site)], upstream.target, ["--url", POOL_URL, "--pooling-enabled", "--agent-id", agentId]);
  return { agentId, upstream, proc };
}

/** Until A's admin API lists exactly these agents as the pool's members, none unhealthy or ejected. */
async function poolAtAIs(agentIds: string[]): Promise<void> {
  await eventually(async () => {
    const listed = await membersAt(edge("a"), POOL_URL);
    expect(listed.map((m) => m.agent_id).sort()).toEqual([...agentIds].sort());
    expect(listed.filter((m) => m.healthy === false || Boolean(m.ejected_until)).map((m) => m.agent_id)).toEqual([]);
  }, 20_000);
}

/** Replaces the edge and members the last drill broke, then waits until A lists the three members. */
async function restorePool(): Promise<void> {
  if (edge("c").proc.hasExited) mesh.edges.c = await startMeshEdge("c", "r-c", mesh.etcd.url, mesh.nats.urls[2]!);
  for (const site of broken) {
    await members[site].proc.stop("SIGKILL");
    members[site] = await startMember(site);
  }
  broken.clear();
  await poolAtAIs(Object.values(members).map((m) => m.agentId));
}

interface Drill {
  name: string;
  goal: string;
  durationMs: number;
  /** The member the drill breaks: it must have carried traffic before, and is replaced after. */
  victim?: Site;
  requestFor?: (i: number) => LoadRequest;
  /** Runs at STRIKE_AT_MS into the load; may go on along the load's schedule (SIGSTOP, then SIGCONT). */
  strike(load: LoadRun): void | Promise<void>;
  /** What falls short of the goal; empty when it is met. */
  check(figures: DrillFigures): string[] | Promise<string[]>;
}

/** Load through A, the strike on schedule, then figures and goal; the result goes in the table either way. */
async function runDrill(drill: Drill): Promise<void> {
  const result: DrillResult = { name: drill.name, goal: drill.goal, violations: [] };
  results.push(result);
  const a = edge("a");
  const retriedBefore = await retriedAt(a.admin);
  const load = startLoad({ base: a.httpUrl, host: API_HOST, rate: RATE, durationMs: drill.durationMs, requestFor: drill.requestFor });
  let servedBefore = 0;
  let eventMs = 0;
  try {
    await load.at(Math.min(STRIKE_AT_MS, drill.durationMs));
    if (drill.victim) {
      servedBefore = members[drill.victim].upstream.served();
      broken.add(drill.victim);
    }
    eventMs = load.elapsed();
    await drill.strike(load);
  } finally {
    const samples = await load.done;
    result.figures = measure(samples, eventMs || drill.durationMs, (await retriedAt(a.admin)) - retriedBefore);
  }
  result.violations = await drill.check(result.figures);
  if (drill.victim && servedBefore === 0) result.violations.push(`the victim behind ${drill.victim} served nothing before the event: the drill proves nothing`);
  expect(result.violations).toEqual([]);
}


beforeAll(async () => {
  mesh = await startMesh({ a: "r-a", b: "r-b", c: "r-c" }, { a: CLOUD });
  const started = await Promise.all((["a", "b", "c"] as const).map((site) => startMember(site)));
  [members.a, members.b, members.c] = started as [PoolMember, PoolMember, PoolMember];
  await poolAtAIs(started.map((m) => m.agentId));
  await eventually(async () => expect((await send({ base: edge("a").httpUrl, host: API_HOST, path: "/ready", timeoutMs: 5_000 })).status).toBe(200));
}, 120_000);

afterAll(async () => {
  if (results.length > 0) {
    const table = renderTable(results);
    console.log(table);
    mkdirSync(RESULTS_DIR, { recursive: true });
    writeFileSync(`${RESULTS_DIR}drills.md`, table);
  }
  await stopAll();
  await mesh?.stop();
  await Promise.all(upstreams.map((u) => u.crash()));
}, 60_000);

describe(`failover drills: ${RATE} requests/s through A's cloud endpoint to a pool of three members, one per edge`, () => {
  it("steady state: nothing fails while nothing breaks", async () => {
    await runDrill({ name: "0. steady state", goal: "0 failed", durationMs: 2_000, strike: () => {}, check: noneFailed });
  }, 60_000);

  it("1. SIGKILL of the agent behind A (the member locality prefers): no GET fails", async () => {
    await restorePool();
    await runDrill({
      name: "1. SIGKILL agent behind A",
      goal: "0 failed",
      durationMs: 6_000,
      victim: "a",
      strike: () => void members.a.proc.child.kill("SIGKILL"),
      check: noneFailed,
    });
  }, 90_000);

  it("2. SIGSTOP of the agent behind A for 10 s: the hang is detected within 2 s", async () => {
    await restorePool();
    await runDrill({
      name: "2. SIGSTOP agent behind A 10 s",
      goal: "≤ 0.1% failed, none waits > 3 s",
      durationMs: 15_000,
      victim: "a",
      strike: async (load) => {
        const { pid } = members.a.proc;
        const stoppedAt = load.elapsed();
        process.kill(pid, "SIGSTOP");
        await load.at(stoppedAt + 10_000);
        process.kill(pid, "SIGCONT");
      },
      check: (f) => [...atMostOnePerMille(f), ...noneWaitsOver(3_000)(f)],
    });
  }, 90_000);

  it("3. SIGTERM of the agent behind A under GETs and POSTs: no request of any method fails", async () => {
    await restorePool();
    let drained: Promise<{ code: number | null }> | undefined;
    await runDrill({
      name: "3. SIGTERM agent behind A (GET + POST)",
      goal: "0 failed, any method",
      durationMs: 6_000,
      victim: "a",
      requestFor: (i) => (i % 2 === 0 ? { method: "GET", path: `/items/${i}` } : { method: "POST", path: "/orders", body: JSON.stringify({ order: i, note: "drill" }) }),
      strike: () => void (drained = members.a.proc.stop("SIGTERM")),
      check: async (f) => {
        const exit = await drained!;
        return [...noneFailed(f), ...(exit.code === 0 ? [] : [`the agent exited ${exit.code} after SIGTERM, not 0`])];
      },
    });
  }, 90_000);

  it("4. SIGKILL of an edge holding a member while A has none of its own: no GET fails across the relay", async () => {
    await restorePool();
    await members.a.proc.stop("SIGTERM");
    broken.add("a");
    await poolAtAIs([members.b.agentId, members.c.agentId]);
    await runDrill({
      name: "4. SIGKILL edge C (A relays to B, C)",
      goal: "0 failed",
      durationMs: 7_000,
      victim: "c",
      strike: () => void edge("c").proc.child.kill("SIGKILL"),
      check: noneFailed,
    });
  }, 90_000);

  it("5. the upstream behind A answers 500: the edge ejects the member within 5 s", async () => {
    await restorePool();
    await runDrill({
      name: "5. upstream behind A answers 500",
      goal: "500s stop within 5 s",
      durationMs: 9_000,
      victim: "a",
      strike: () => members.a.upstream.failWith(500),
      check: (f) => (f.lastFailureMs === undefined || f.lastFailureMs <= 5_000 ? [] : [`failures until ${Math.round(f.lastFailureMs)} ms after the upstream began failing`]),
    });
  }, 90_000);

  it("6. the upstream behind A dies while its agent lives: refused connects are retried", async () => {
    await restorePool();
    await runDrill({
      name: "6. upstream behind A dies",
      goal: "≤ 0.1% failed",
      durationMs: 9_000,
      victim: "a",
      strike: () => members.a.upstream.crash(),
      check: atMostOnePerMille,
    });
  }, 90_000);

  it("7. SIGTERM of an edge holding a member while A has none of its own: no request of any method fails, the edge exits 0", async () => {
    await restorePool();
    await members.a.proc.stop("SIGTERM");
    broken.add("a");
    await poolAtAIs([members.b.agentId, members.c.agentId]);
    let stopped: Promise<{ code: number | null }> | undefined;
    await runDrill({
      name: "7. SIGTERM edge C (A relays to B, C; GET + POST)",
      goal: "0 failed, any method; exits 0",
      durationMs: 7_000,
      victim: "c",
      requestFor: (i) => (i % 2 === 0 ? { method: "GET", path: `/items/${i}` } : { method: "POST", path: "/orders", body: JSON.stringify({ order: i }) }),
      strike: () => void (stopped = edge("c").proc.stop("SIGTERM")),
      check: async (f) => {
        const exit = await stopped!;
        return [...noneFailed(f), ...(exit.code === 0 ? [] : [`edge c exited ${exit.code} after SIGTERM, not 0`])];
      },
    });
  }, 90_000);
});
