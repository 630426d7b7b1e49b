// The mesh part of the bench: etcd, one NATS server and three edges (a, b, c) on loopback, and
// what only a mesh has — the relay between edges, membership spreading from edge to edge, a dead
// edge leaving every pool, an agent on two edges outliving one, a rate limit shared by all edges.
// See bench/README.md ("Mesh") for what each figure means.
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { measureFailover, POOL_HOST } from "./mesh-failover.mjs";
import { membersOf, startEtcd, startMeshAgent, startMeshEdge, startNats, waitServing, watchAdmin } from "./mesh-cluster.mjs";
import { pacedLoad, percentiles, round, summarizePaced } from "./mesh-load.mjs";
import { runWrk } from "./wrk.mjs";

const APP_HOST = "app.bench.localhost";
const RL_HOST = "rl.bench.localhost";

/**
 * @typedef {object} MeshSettings
 * @property {{ threads: number, connections: number, durationS: number, warmupS: number }} wrk
 * @property {number} repeat closed-loop runs per side (local, relayed), alternating
 * @property {number} propagationRounds agents bound and removed one after the other
 * @property {number} failoverRounds edge c killed and restarted this many times
 * @property {{ capacity: number, windowS: number, requests: number, ratePerS: number }} rateLimit
 *
 * @typedef {import("./mesh-cluster.mjs").MeshEdge} MeshEdge
 * @typedef {{ upstream: string, etcd: string, nats: string, edges: Record<"a" | "b" | "c", MeshEdge>, track: (p: import("./processes.mjs").Proc) => void }} Cluster
 */

/**
 * Starts the mesh, runs every mesh measurement (a failed one becomes `{ error }`, the rest go on)
 * and stops every process it started.
 * @param {{ upstream: string, tmp: string, settings: MeshSettings, log: (msg: string) => void }} o
 */
export async function measureMesh({ upstream, tmp, settings, log }) {
  /** @type {import("./processes.mjs").Proc[]} */
  const procs = [];
  const track = (/** @type {import("./processes.mjs").Proc} */ p) => void procs.push(p);
  /** @type {Record<string, any>} */
  const out = { settings };
  const part = async (/** @type {string} */ name, /** @type {() => Promise<any>} */ fn) => {
    try {
      out[name] = await fn();
    } catch (error) {
      log(`mesh ${name}: failed: ${String(/** @type {Error} */ (error).message ?? error).split("\n")[0]}`);
      out[name] = { error: String(/** @type {Error} */ (error).message ?? error) };
    }
  };
  try {
    log("mesh: starting etcd, nats-server and edges a, b, c");
    const etcd = await startEtcd(tmp);
    track(etcd.proc);
    const nats = await startNats();
    track(nats.proc);
    const config = join(tmp, "edge-a.yml");
    await writeFile(config, rateLimitConfig(settings.rateLimit));
    const [a, b, c] = await Promise.all([
      startMeshEdge({ id: "a", etcd: etcd.url, nats: nats.url, config }),
      startMeshEdge({ id: "b", etcd: etcd.url, nats: nats.url }),
      startMeshEdge({ id: "c", etcd: etcd.url, nats: nats.url }),
    ]);
    for (const e of [a, b, c]) track(e.proc);
    /** @type {Cluster} */
    const cl = { upstream, etcd: etcd.url, nats: nats.url, edges: { a, b, c }, track };

    await part("relay", () => measureRelay(cl, settings, log));
    await part("propagation", () => measurePropagation(cl, settings.propagationRounds, log));

    // Members of https://pool.internal: the rate-limited cloud endpoint forwards to it, and the
    // failover rounds watch the one at c leave a's pool when c dies.
    log("mesh: pool members at a and c");
    const pool = await Promise.all(["a", "c"].map((id) =>
      startMeshAgent({ name: `agent-pool-${id}`, upstream, edges: [cl.edges[/** @type {"a" | "c"} */ (id)].agent], url: `https://${POOL_HOST}`, pooling: true })));
    for (const p of pool) track(p.proc);

    await part("rateLimit", () => measureRateLimit(cl, settings.rateLimit, log));
    await part("failover", () => measureFailover(cl, settings.failoverRounds, log));
  } catch (error) {
    out.error = String(/** @type {Error} */ (error).message ?? error);
    log(`mesh: failed: ${out.error.split("\n")[0]}`);
  } finally {
    // Agents first (they would reconnect), then edges (they revoke their leases), then the backends.
    const order = (/** @type {string} */ name) => (name.startsWith("agent") ? 0 : name.startsWith("edge") ? 1 : 2);
    for (const rank of [0, 1, 2]) await Promise.allSettled(procs.filter((p) => order(p.name) === rank).map((p) => p.stop()));
  }
  return out;
}

/**
 * Closed-loop req/s with the agent at edge b: sent to b (one edge, the agent's own) and to a
 * (relayed a→b), alternately, with the per-request CPU time of each process.
 * @param {Cluster} cl @param {MeshSettings} s @param {(msg: string) => void} log
 */
async function measureRelay(cl, s, log) {
  const { a, b } = cl.edges;
  const agent = await startMeshAgent({ name: "agent-app", upstream: cl.upstream, edges: [b.agent], url: `http://${APP_HOST}` });
  try {
    await watchAdmin("edge a lists the member at b", a.admin, (eps) => membersOf(eps, APP_HOST).some((m) => m.edge === "b"), { intervalMs: 20 });
    await waitServing(b.http, APP_HOST);
    await waitServing(a.http, APP_HOST);
    const { threads, connections, durationS, warmupS } = s.wrk;
    const sides = /** @type {const} */ ([["local", b], ["relayed", a]]);
    /** @type {Record<string, any[]>} */
    const runs = { local: [], relayed: [] };
    for (let i = 0; i < s.repeat; i++) {
      for (const [side, edge] of sides) {
        const url = `http://${edge.http}/hello`;
        if (i === 0) await runWrk({ url, host: APP_HOST, threads, connections, durationS: warmupS });
        const procs = { "edge a": a.proc.pid, "edge b": b.proc.pid, agent: agent.proc.pid };
        const before = cpuMsOf(procs);
        const run = await runWrk({ url, host: APP_HOST, threads, connections, durationS });
        const after = cpuMsOf(procs);
        /** CPU µs per request, per process (upstream not included: the same on both sides). */
        const cpuUsPerRequest = Object.fromEntries(Object.keys(procs).map((k) => [k, Math.round(((after[k] - before[k]) * 1000) / run.requests)]));
        runs[side].push({ ...run, cpuUsPerRequest });
        log(`mesh relay: ${side === "local" ? "edge b (agent's own)" : "edge a (relayed to b)"} ${Math.round(run.rps)} req/s, p99 ${run.p99Ms} ms`);
      }
    }
    const local = median(runs.local, "rps");
    const relayed = median(runs.relayed, "rps");
    return { local, relayed, ratio: relayed.rps / local.rps, runs };
  } finally {
    await agent.proc.stop();
  }
}

/**
 * Binds a fresh URL at edge b `rounds` times, one agent process each, and times when edge a lists
 * it (add) and, after SIGTERM to the agent, stops listing it (removal). Both admin APIs are polled
 * every 2 ms over keep-alive connections.
 * @param {Cluster} cl @param {number} rounds @param {(msg: string) => void} log
 */
async function measurePropagation(cl, rounds, log) {
  const { a, b } = cl.edges;
  /** @type {Record<string, number>[]} */
  const samples = [];
  log(`mesh propagation: ${rounds} agents bind at b and leave, edge a watched`);
  for (let i = 0; i < rounds; i++) {
    const host = `p${i}-${process.pid}.bench.localhost`;
    const cancel = { cancelled: false };
    const watch = (/** @type {MeshEdge} */ e, /** @type {boolean} */ present) => {
      const p = watchAdmin(`edge ${e.id} ${present ? "lists" : "drops"} ${host}`, e.admin, (eps) => (membersOf(eps, host).length > 0) === present,
        { intervalMs: 2, timeoutMs: 15_000, cancel });
      p.catch(() => {}); // awaited below; a rejection after a failed start is not "unhandled"
      return p;
    };
    const addedB = watch(b, true);
    const addedA = watch(a, true);
    let agent;
    try {
      agent = await startMeshAgent({ name: `agent-p${i}`, upstream: cl.upstream, edges: [b.agent], url: `http://${host}` });
      const [inB, inA] = await Promise.all([addedB, addedA]);
      const goneB = watch(b, false);
      const goneA = watch(a, false);
      const termAt = performance.now();
      agent.proc.child.kill("SIGTERM");
      const [outB, outA] = await Promise.all([goneB, goneA]);
      samples.push({
        addMs: round(inA.at - inB.at),
        addFromForwardingMs: round(inA.at - agent.forwardingAt),
        bListedFromForwardingMs: round(inB.at - agent.forwardingAt),
        removeMs: round(outA.at - outB.at),
        removeFromSigtermMs: round(outA.at - termAt),
        bDroppedFromSigtermMs: round(outB.at - termAt),
      });
    } finally {
      cancel.cancelled = true;
      await agent?.proc.stop();
    }
  }
  const of = (/** @type {string} */ k) => percentiles(samples.map((x) => x[k]));
  const result = {
    rounds,
    add: of("addMs"), addFromForwarding: of("addFromForwardingMs"), bListedFromForwarding: of("bListedFromForwardingMs"),
    remove: of("removeMs"), removeFromSigterm: of("removeFromSigtermMs"), bDroppedFromSigterm: of("bDroppedFromSigtermMs"),
    samples,
  };
  log(`mesh propagation: add b→a p50 ${result.add.p50Ms} ms p99 ${result.add.p99Ms} ms; removal b→a p50 ${result.remove.p50Ms} ms p99 ${result.remove.p99Ms} ms`);
  return result;
}

/**
 * A cloud endpoint on edge a (shared with b and c through etcd) limited to `capacity` requests per
 * window across the mesh; `requests` paced at `ratePerS` round robin over a, b, c, all inside one
 * window. Overshoot = (answered 2xx − capacity) / capacity.
 * @param {Cluster} cl @param {MeshSettings["rateLimit"]} rl @param {(msg: string) => void} log
 */
async function measureRateLimit(cl, rl, log) {
  const edges = [cl.edges.a, cl.edges.b, cl.edges.c];
  // Ready without spending the budget: every edge lists the cloud endpoint and a pool member.
  for (const e of edges) {
    await watchAdmin(`edge ${e.id} lists ${RL_HOST} and a member of ${POOL_HOST}`, e.admin,
      (eps) => eps.some((x) => new URL(x.url).hostname === RL_HOST && x.cloud) && membersOf(eps, POOL_HOST).length > 0, { intervalMs: 20 });
  }
  // Windows are epoch-aligned: start where the whole run fits in one, so no earlier window weighs in.
  const windowMs = rl.windowS * 1000;
  const runMs = (rl.requests / rl.ratePerS) * 1000 + 1_000;
  const into = Date.now() % windowMs;
  if (into + runMs > windowMs) {
    log(`mesh rate limit: waiting ${Math.round((windowMs - into) / 1000)} s for the next ${rl.windowS} s window`);
    await new Promise((resolve) => setTimeout(resolve, windowMs - into + 50));
  }
  log(`mesh rate limit: ${rl.requests} requests at ${rl.ratePerS}/s over edges a, b, c; capacity ${rl.capacity} per ${rl.windowS} s`);
  const results = await pacedLoad({ targets: edges.map((e) => ({ http: e.http, host: RL_HOST })), ratePerS: rl.ratePerS, count: rl.requests });
  const summary = summarizePaced(results);
  const allowed = summary.ok;
  const limited = results.filter((r) => r.status === 429).length;
  const perEdge = Object.fromEntries(edges.map((e, i) => [e.id, results.filter((r) => r.target === i && r.status >= 200 && r.status < 300).length]));
  const overshoot = (allowed - rl.capacity) / rl.capacity;
  log(`mesh rate limit: ${allowed} allowed, ${limited} limited, ${summary.sent - allowed - limited} other; overshoot ${(overshoot * 100).toFixed(1)}%`);
  return { ...rl, sent: summary.sent, allowed, limited, other: summary.sent - allowed - limited, statuses: summary.statuses, allowedPerEdge: perEdge, overshoot };
}

/** @param {{ capacity: number, windowS: number }} rl */
function rateLimitConfig(rl) {
  return `cloud_endpoints:
  - url: http://${RL_HOST}
    traffic_policy:
      on_http_request:
        - actions:
            - type: rate-limit
              config: {name: global, algorithm: sliding_window, capacity: ${rl.capacity}, rate: ${rl.windowS}s, bucket_key: ["'all'"]}
            - type: forward-internal
              config: {url: "https://${POOL_HOST}"}
`;
}

/**
 * CPU time (user + system, ms) of each process so far, from /proc/<pid>/stat (100 ticks/s).
 * @param {Record<string, number>} pids @returns {Record<string, number>}
 */
function cpuMsOf(pids) {
  return Object.fromEntries(Object.entries(pids).map(([name, pid]) => {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return [name, (Number(fields[11]) + Number(fields[12])) * 10];
  }));
}

/** @param {Record<string, any>[]} runs @param {string} key */
function median(runs, key) {
  return [...runs].sort((x, y) => x[key] - y[key])[Math.floor((runs.length - 1) / 2)];
}
