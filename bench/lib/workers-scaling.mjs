// What a second edge worker (`onramp edge --workers 2`) buys on this machine, in two shapes:
// - edge only: a cloud endpoint whose policy answers with `custom-response`, so each request is
//   the edge's work alone (no agent, no upstream), with wrk and the edge pinned to CPUs (taskset);
// - the full tunnel (edge → agent → upstream), nothing pinned.
// Variants run alternately, each on a fresh edge, so machine noise hits them alike.
// See bench/README.md ("Edge workers") for what the figures mean.
import { readFileSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { httpGet } from "./http-get.mjs";
import { poll } from "./processes.mjs";
import { NOT_BOUND_AT_EVERY_WORKER, startEdge, startOnramp } from "./targets.mjs";
import { runWrk } from "./wrk.mjs";

const EDGE_ONLY_HOST = "edge-only.bench.localhost";
/** The upstream's `GET /hello` body, so both shapes answer the same 13 bytes. */
const HELLO = "Hello, world\n";
/**
 * Fresh starts allowed per run when the agent's session does not show at every worker (seen in
 * about one start in four: a worker lists the member at another worker as its own local one). They
 * are counted and reported, not hidden.
 */
const STARTS_PER_RUN = 3;

/**
 * @typedef {{ threads: number, connections: number, durationS: number, warmupS: number }} WrkSettings
 * @typedef {{ key: string, label: string, workers: number, edgeCpus?: string }} Variant
 * @typedef {import("./wrk.mjs").WrkResult & { cores: Record<string, number>, cpuUsPerRequest: Record<string, number> }} Run
 */

/**
 * @param {{ upstream: string, upstreamPid?: number, tmp: string, wrk: WrkSettings, repeat: number, log: (msg: string) => void }} o
 */
export async function measureWorkers(o) {
  const cores = availableParallelism();
  return {
    cores,
    edgeOnly: await shape("edge only", () => measureEdgeOnly(o, cores), o.log),
    tunnel: await shape("tunnel", () => measureTunnel(o), o.log),
  };
}

/**
 * The edge answers every request itself. On 2 cores wrk is pinned to CPU 1 and the edge gets
 * CPU 0 (1 worker, what one process can do with a core of its own), or CPUs 0 and 1 (1 worker:
 * the same CPU set as 2 workers, so only the worker count changes; 2 workers: the second one takes
 * what wrk leaves of CPU 1). With 3 or more cores wrk gets CPU 2 to itself.
 * @param {Parameters<typeof measureWorkers>[0]} o @param {number} cores
 */
async function measureEdgeOnly(o, cores) {
  if (cores < 2) throw new Error(`needs 2 cores, this machine has ${cores}`);
  const wrkCpus = cores >= 3 ? "2" : "1";
  /** @type {Variant[]} */
  const variants = [
    { key: "w1OneCpu", label: "1 worker, edge on CPU 0", workers: 1, edgeCpus: "0" },
    { key: "w1", label: "1 worker, edge on CPUs 0,1", workers: 1, edgeCpus: "0,1" },
    { key: "w2", label: "2 workers, edge on CPUs 0,1", workers: 2, edgeCpus: "0,1" },
  ];
  const config = join(o.tmp, "workers-edge-only.yml");
  await writeFile(config, edgeOnlyConfig());
  const runs = await alternate(o, variants, async (v) => {
    const edge = await startEdge(["--no-access-log", "--config", config], undefined, { workers: v.workers, cpus: v.edgeCpus });
    const base = `http://${edge.http}`;
    await poll(`${EDGE_ONLY_HOST} answers`, async () => (await httpGet(`${base}/hello`, { host: EDGE_ONLY_HOST })).status === 200);
    return { base, host: EDGE_ONLY_HOST, pids: { edge: edgePids(edge.proc.pid) }, wrkCpus, stop: () => edge.proc.stop() };
  });
  return { wrkCpus, variants, ...summarizeRuns(runs, variants, "w1"), ratioVsOneCpu: ratio(runs, "w2", "w1OneCpu") };
}

/**
 * Client → edge → agent → upstream with 1 and 2 edge workers; nothing pinned: wrk, the edge's
 * processes, the agent and the upstream share every core.
 * @param {Parameters<typeof measureWorkers>[0]} o
 */
async function measureTunnel(o) {
  /** @type {Variant[]} */
  const variants = [
    { key: "w1", label: "1 worker", workers: 1 },
    { key: "w2", label: "2 workers", workers: 2 },
  ];
  /** @type {string[]} */
  const notBound = [];
  const runs = await alternate(o, variants, async (v) => {
    const target = await startTunnel(v.workers, o, notBound);
    /** @type {Record<string, number[]>} */
    const pids = { edge: edgePids(/** @type {any} */ (target.edge).pid), agent: [/** @type {any} */ (target.agent).pid] };
    if (o.upstreamPid) pids.upstream = [o.upstreamPid];
    return { base: target.base, host: target.host, pids, wrkCpus: undefined, stop: target.stop };
  });
  return { variants, ...summarizeRuns(runs, variants, "w1"), notBound };
}

/**
 * `startOnramp` with `workers` edge workers, started afresh (up to STARTS_PER_RUN times) when the
 * agent's session does not show at every worker; each such start is logged into `notBound`.
 * @param {number} workers @param {{ upstream: string, tmp: string, log: (msg: string) => void }} o @param {string[]} notBound
 */
async function startTunnel(workers, o, notBound) {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnramp({ upstream: o.upstream, tmp: o.tmp, workers });
    } catch (error) {
      const message = String(/** @type {Error} */ (error).message ?? error);
      if (!message.startsWith(NOT_BOUND_AT_EVERY_WORKER) || attempt === STARTS_PER_RUN) throw error;
      // The poll's last answer, in parentheses: what the worker without a session of its own listed.
      const detail = /\((worker [^\n]*)\)$/m.exec(message)?.[1] ?? message.split("\n")[0];
      notBound.push(detail);
      o.log(`workers: ${NOT_BOUND_AT_EVERY_WORKER}? no: ${detail}; starting again`);
    }
  }
}

/**
 * `repeat` rounds; in each, every variant once: a fresh target, a wrk warm-up, then the measured
 * wrk run with the CPU time of each process (and of wrk) over it.
 * @param {Parameters<typeof measureWorkers>[0]} o @param {Variant[]} variants
 * @param {(v: Variant) => Promise<{ base: string, host: string | undefined, pids: Record<string, number[]>, wrkCpus: string | undefined, stop: () => Promise<void> }>} start
 * @returns {Promise<Record<string, Run[]>>}
 */
async function alternate(o, variants, start) {
  /** @type {Record<string, Run[]>} */
  const runs = Object.fromEntries(variants.map((v) => [v.key, []]));
  const { threads, connections, durationS, warmupS } = o.wrk;
  for (let i = 0; i < o.repeat; i++) {
    for (const v of variants) {
      const t = await start(v);
      try {
        const load = (/** @type {number} */ seconds) =>
          runWrk({ url: `${t.base}/hello`, host: t.host, threads, connections, durationS: seconds, cpus: t.wrkCpus });
        await load(warmupS);
        /** @type {Record<string, number>} */
        const before = { ...cpuMsOf(t.pids), wrk: reapedChildrenCpuMs(), machine: machineBusyMs() };
        const run = await load(durationS);
        // wrk has exited and been waited for: its CPU time is now in our children's total.
        /** @type {Record<string, number>} */
        const after = { ...cpuMsOf(t.pids), wrk: reapedChildrenCpuMs(), machine: machineBusyMs() };
        const names = [...Object.keys(t.pids), "wrk"];
        const cores = Object.fromEntries(names.map((k) => [k, round2((after[k] - before[k]) / (durationS * 1000))]));
        // Everything else the machine ran meanwhile (other work on a shared machine, the idle upstream).
        const ours = names.reduce((sum, k) => sum + after[k] - before[k], 0);
        cores.others = round2(Math.max(0, after.machine - before.machine - ours) / (durationS * 1000));
        const cpuUsPerRequest = Object.fromEntries(names.map((k) => [k, Math.round(((after[k] - before[k]) * 1000) / run.requests)]));
        runs[v.key].push({ ...run, cores, cpuUsPerRequest });
        o.log(`workers: ${v.label}: ${Math.round(run.rps)} req/s; cores busy ${[...names, "others"].map((k) => `${k} ${cores[k]}`).join(", ")}`);
      } finally {
        await t.stop();
      }
    }
  }
  return runs;
}

/** @param {Record<string, Run[]>} runs @param {Variant[]} variants @param {string} base */
function summarizeRuns(runs, variants, base) {
  const medians = Object.fromEntries(variants.map((v) => [v.key, median(runs[v.key])]));
  return { medians, ratio: ratio(runs, "w2", base), runs };
}

/** Median req/s of `a` ÷ median req/s of `b`. @param {Record<string, Run[]>} runs @param {string} a @param {string} b */
function ratio(runs, a, b) {
  const [x, y] = [median(runs[a]), median(runs[b])];
  return x && y && y.rps ? x.rps / y.rps : undefined;
}

/** @param {Run[]} runs */
function median(runs) {
  return runs.length ? [...runs].sort((x, y) => x.rps - y.rps)[Math.floor((runs.length - 1) / 2)] : undefined;
}

/**
 * A failed shape becomes `{ error }`; the other still runs.
 * @template T @param {string} name @param {() => Promise<T>} fn @param {(msg: string) => void} log
 */
async function shape(name, fn, log) {
  try {
    return await fn();
  } catch (error) {
    const message = String(/** @type {Error} */ (error).message ?? error);
    log(`workers ${name}: failed: ${message.split("\n")[0]}`);
    return { error: message };
  }
}

/** The edge's `--config`: one cloud endpoint that answers every request itself. */
function edgeOnlyConfig() {
  return `cloud_endpoints:
  - url: http://${EDGE_ONLY_HOST}
    traffic_policy:
      on_http_request:
        - actions:
            - type: custom-response
              config: {status_code: 200, headers: {content-type: text/plain}, body: ${JSON.stringify(HELLO)}}
`;
}

/** The edge process and, with `--workers` > 1, the workers it forked (its children). @param {number} pid */
function edgePids(pid) {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
  return [pid, ...(children ? children.split(" ").map(Number) : [])];
}

/**
 * CPU time (user + system, ms) so far, summed over each group of processes, from /proc/<pid>/stat
 * (100 ticks/s).
 * @param {Record<string, number[]>} groups @returns {Record<string, number>}
 */
function cpuMsOf(groups) {
  return Object.fromEntries(Object.entries(groups).map(([name, pids]) => [name, pids.reduce((sum, pid) => sum + statFields(pid, 11, 12), 0) * 10]));
}

/** CPU time (ms) every core of the machine spent busy so far (/proc/stat: all but idle and iowait). */
function machineBusyMs() {
  const [user, nice, system, , , irq, softirq, steal] = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  return (user + nice + system + irq + softirq + steal) * 10;
}

/** CPU time (ms) of this process's children that have exited and been waited for (cutime + cstime). */
function reapedChildrenCpuMs() {
  return statFields(process.pid, 13, 14) * 10;
}

/** The sum of two fields of /proc/<pid>/stat, counted from the one after the command name. @param {number} pid @param {number} a @param {number} b */
function statFields(pid, a, b) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[a]) + Number(fields[b]);
}

/** @param {number} v */
function round2(v) {
  return Math.round(v * 100) / 100;
}
