#!/usr/bin/env node
// The bench: one upstream, one load generator, five targets (direct, nginx, nginx2, pipenet, onramp),
// the latency sweep, onramp's per-hop and allocation breakdown, the mesh part (etcd, NATS,
// three edges; lib/mesh.mjs) and the edge workers part (`--workers` 1 vs 2; lib/workers-scaling.mjs).
// See bench/README.md for what each figure means and how it is measured.
//
//   node bench/main.mjs [--quick] [--only onramp,nginx,...,mesh,workers] [--skip rtt,memory,policy,observe,mesh,workers,sweep,hops,alloc] [--repeat n]
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { runOpenLoop } from "./lib/open-loop-runner.mjs";
import { installTeardown, startProcess, stopAll } from "./lib/processes.mjs";
import { environment } from "./lib/environment.mjs";
import { measureEdgeMemory } from "./lib/edge-memory.mjs";
import { measureMesh } from "./lib/mesh.mjs";
import { measureOnrampBreakdown } from "./lib/onramp-breakdown.mjs";
import { httpGet } from "./lib/http-get.mjs";
import { renderMarkdown, summarize } from "./lib/report.mjs";
import { measurePolicyOverhead } from "./lib/policy-overhead.mjs";
import { measureWorkers } from "./lib/workers-scaling.mjs";
import { measureObserveOverhead } from "./lib/observe-overhead.mjs";
import { BENCH_DIR, startDirect, startNginx, startNginx2, startOnramp, startPipenet } from "./lib/targets.mjs";
import { download, upload } from "./lib/transfer.mjs";
import { runWrk } from "./lib/wrk.mjs";

const { values } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    only: { type: "string" },
    skip: { type: "string" },
    repeat: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});

/**
 * Full run: about 11 minutes; the closed and open loops run 3 times each and the median run is
 * reported (this machine is shared: one run can catch someone else's build). Quick: a smoke run
 * of about two minutes.
 */
const SETTINGS = values.quick
  ? { mode: "quick", repeat: 1, wrk: { threads: 1, connections: 50, durationS: 3, warmupS: 1 }, openLoop: { durationS: 4, warmupS: 1, connections: 50 },
      transferBytes: 20e6, transferLimitS: 20, sessions: 200, rttMs: 50, mesh: { propagationRounds: 10, failoverRounds: 1 } }
  : { mode: "full", repeat: 3, wrk: { threads: 1, connections: 50, durationS: 10, warmupS: 3 }, openLoop: { durationS: 10, warmupS: 2, connections: 50 },
      transferBytes: 100e6, transferLimitS: 60, sessions: 1000, rttMs: 50, mesh: { propagationRounds: 30, failoverRounds: 3 } };
/** The global rate limit of the mesh part: ~2× capacity sent well inside one window. */
const MESH_RATE_LIMIT = { capacity: 300, windowS: 60, requests: 600, ratePerS: 150 };

/** Measured in this order: onramp first, because its max load sets the open-loop rate for all. */
const ORDER = ["onramp", "nginx", "nginx2", "direct", "pipenet"];
const STARTERS = { direct: startDirect, nginx: startNginx, nginx2: startNginx2, pipenet: startPipenet, onramp: startOnramp };
const PARTS = ["rtt", "memory", "policy", "observe", "mesh", "workers", "sweep", "hops", "alloc"];
/** The open-loop sweep: these fractions of onramp's max req/s, for these targets (the 0.5 run is also their main-table open loop). */
const SWEEP = { fractions: [0.25, 0.5, 0.75], targets: ["onramp", "nginx2"] };
/** `mesh` (etcd, NATS, three edges) and `workers` (edge workers 1 vs 2) are parts of their own: in a run without --only, or named in it. */
const OWN_PARTS = ["mesh", "workers"];
const only = values.only ? values.only.split(",").map((s) => s.trim()) : [...ORDER, ...OWN_PARTS];
const skip = new Set(values.skip ? values.skip.split(",").map((s) => s.trim()) : []);
for (const name of only) if (![...ORDER, ...OWN_PARTS].includes(name)) usage(`--only: unknown target ${JSON.stringify(name)}`);
for (const name of skip) if (!PARTS.includes(name)) usage(`--skip: unknown part ${JSON.stringify(name)}`);
if (values.repeat !== undefined) {
  const repeat = Number(values.repeat);
  if (!Number.isInteger(repeat) || repeat < 1 || repeat > 9) usage("--repeat: an integer from 1 to 9");
  SETTINGS.repeat = repeat;
}

if (values.help) {
  process.stdout.write(`${usageLine()}\n`);
  process.exit(0);
}

const tmp = await mkdtemp(join(tmpdir(), "onramp-bench-"));
installTeardown(() => rm(tmp, { recursive: true, force: true }));
const log = (/** @type {string} */ msg) => process.stderr.write(`bench: ${msg}\n`);

/** @type {Record<string, any>} */
const results = { settings: SETTINGS, environment: await environment(), targets: {}, rtt: {}, memory: undefined, openLoopRate: undefined, sweep: undefined };
if (results.environment.loadAverage1m > 0.5) {
  log(`warning: the machine is busy (1-minute load average ${results.environment.loadAverage1m}); figures will be noisy`);
}

try {
  const upstream = await startProcess({
    name: "upstream",
    command: process.execPath,
    args: [join(BENCH_DIR, "upstream.mjs")],
    readyOn: "stdout",
    ready: (line) => /^upstream listening (\S+)$/.exec(line)?.[1],
  });
  const ctx = { upstream: /** @type {string} */ (upstream.info), tmp };
  log(`upstream on ${ctx.upstream}; mode ${SETTINGS.mode}`);

  for (const name of ORDER.filter((n) => only.includes(n))) {
    results.targets[name] = await measureTarget(name, ctx);
  }

  if (only.includes("onramp") && (!skip.has("hops") || !skip.has("alloc"))) {
    log("onramp breakdown: per-hop latency and allocation");
    const breakdown = await attempt(() => measureOnrampBreakdown(ctx, {
      hops: !skip.has("hops"), alloc: !skip.has("alloc"), rate: results.openLoopRate, wrk: SETTINGS.wrk, openLoop: SETTINGS.openLoop,
      directOpenLoop: results.targets.direct?.openLoop, log,
    }));
    if ("error" in breakdown) {
      if (!skip.has("hops")) results.hops = breakdown;
      if (!skip.has("alloc")) results.alloc = breakdown;
    } else Object.assign(results, breakdown);
  }

  if (!skip.has("rtt")) {
    for (const name of ["onramp", "pipenet"].filter((n) => only.includes(n))) {
      results.rtt[name] = await measureRtt(name, ctx);
    }
  }

  if (!skip.has("policy") && only.includes("onramp")) {
    log("policy overhead: no policy vs a 10-rule policy");
    results.policy = await attempt(() => measurePolicyOverhead(ctx, SETTINGS.wrk, interleave(), log));
  }

  if (!skip.has("observe") && only.includes("onramp")) {
    log("observability overhead: tracing, inspector and access log vs all off");
    results.observe = await attempt(() => measureObserveOverhead(ctx, SETTINGS.wrk, interleave(), log));
  }

  if (!skip.has("memory") && only.includes("onramp")) {
    log(`edge memory: ${SETTINGS.sessions} idle sessions`);
    // The edge's RSS before any session moves by a few MB from one fresh start to the next (when
    // its heap last grew or shrank), which is several KB per session: the median of the repeats.
    results.memory = await medianOf("perSessionBytes", () => measureEdgeMemory({ upstream: ctx.upstream, sessions: SETTINGS.sessions, log }));
  }

  if (!skip.has("mesh") && only.includes("mesh")) {
    const settings = { wrk: SETTINGS.wrk, repeat: SETTINGS.repeat, ...SETTINGS.mesh, rateLimit: MESH_RATE_LIMIT };
    results.mesh = await attempt(() => measureMesh({ upstream: ctx.upstream, tmp, settings, log }));
  }

  if (!skip.has("workers") && only.includes("workers")) {
    log("edge workers: --workers 1 vs 2, edge only (pinned) and the full tunnel");
    results.workers = await attempt(() => measureWorkers({ ...ctx, upstreamPid: upstream.proc.pid, wrk: SETTINGS.wrk, repeat: SETTINGS.repeat, log }));
  }

  await upstream.proc.stop();
  results.environment.loadAverage1mAtEnd = Math.round(loadavg()[0] * 100) / 100;
} finally {
  await stopAll();
  await rm(tmp, { recursive: true, force: true });
}

const report = summarize(results);
const markdown = renderMarkdown(report);
const dir = join(BENCH_DIR, "results");
await mkdir(dir, { recursive: true });
await writeFile(join(dir, "latest.json"), `${JSON.stringify(report, null, 2)}\n`);
await writeFile(join(dir, "latest.md"), markdown);
process.stdout.write(`\n${markdown}\nwritten: bench/results/latest.json, bench/results/latest.md\n`);

/**
 * Closed-loop max load, the open-loop run at the shared rate, and large-body transfers.
 * @param {string} name @param {{ upstream: string, tmp: string }} ctx
 */
async function measureTarget(name, ctx) {
  log(`${name}: starting`);
  let target;
  try {
    target = await STARTERS[/** @type {keyof typeof STARTERS} */ (name)](ctx);
  } catch (error) {
    log(`${name}: unavailable: ${firstLine(error)}`);
    return { available: false, error: String(/** @type {Error} */ (error).message ?? error) };
  }
  const at = { base: target.base, host: target.host };
  try {
    /** @type {Record<string, any>} */
    const out = { available: true };
    const { threads, connections, durationS, warmupS } = SETTINGS.wrk;
    log(`${name}: warm-up ${warmupS} s, then wrk -t${threads} -c${connections} -d${durationS}s`);
    await attempt(() => runWrk({ url: `${at.base}/hello`, host: at.host, threads, connections, durationS: warmupS }));
    out.closedLoop = await medianOf("rps", () => runWrk({ url: `${at.base}/hello`, host: at.host, threads, connections, durationS }));

    if (results.openLoopRate === undefined && (name === "onramp" || name === "nginx") && out.closedLoop.rps) {
      results.openLoopRate = Math.round(out.closedLoop.rps / 2);
      results.openLoopRateSource = `half of ${name}'s max (wrk) requests/s`;
      log(`${name}: open-loop rate for all targets = ${results.openLoopRate}/s (${results.openLoopRateSource})`);
      if (!skip.has("sweep")) {
        results.sweep = { source: name, maxRps: out.closedLoop.rps, rates: SWEEP.fractions.map((f) => (f === 0.5 ? results.openLoopRate : Math.round(out.closedLoop.rps * f))), fractions: SWEEP.fractions };
      }
    }
    if (results.sweep && SWEEP.targets.includes(name)) {
      results.sweep[name] = [];
      for (const rate of results.sweep.rates) {
        log(`${name}: sweep, open loop at ${rate}/s for ${SETTINGS.openLoop.durationS} s`);
        const run = await medianOf("p99Ms", () => runOpenLoop({ url: `${at.base}/hello`, host: at.host, rate, ...SETTINGS.openLoop }));
        results.sweep[name].push(run);
        if (rate === results.openLoopRate) out.openLoop = run;
      }
    } else if (results.openLoopRate) {
      log(`${name}: open loop at ${results.openLoopRate}/s for ${SETTINGS.openLoop.durationS} s`);
      out.openLoop = await medianOf("p99Ms", () => runOpenLoop({ url: `${at.base}/hello`, host: at.host, rate: results.openLoopRate, ...SETTINGS.openLoop }));
    }

    const transfer = { base: at.base, host: at.host, bytes: SETTINGS.transferBytes, limitS: SETTINGS.transferLimitS };
    log(`${name}: ${SETTINGS.transferBytes / 1e6} MB download and upload`);
    out.download = await download(transfer);
    out.upload = await upload(transfer);
    log(`${name}: ${fmt(out.closedLoop.rps)} req/s, down ${out.download.mbPerS} MB/s, up ${out.upload.mbPerS} MB/s`);
    return out;
  } finally {
    await target.stop();
  }
}

/**
 * Large-body transfers with `rttMs` injected between the tunnel's client side and server side.
 * @param {string} name @param {{ upstream: string, tmp: string }} ctx
 */
async function measureRtt(name, ctx) {
  log(`${name}: ${SETTINGS.rttMs} ms RTT between agent and edge, ${SETTINGS.transferBytes / 1e6} MB each way`);
  let target;
  try {
    target = await STARTERS[/** @type {"onramp" | "pipenet"} */ (name)]({ ...ctx, rttMs: SETTINGS.rttMs });
  } catch (error) {
    log(`${name}: unavailable: ${firstLine(error)}`);
    return { available: false, error: String(/** @type {Error} */ (error).message ?? error) };
  }
  try {
    // Proof the delay is in the path: a small request crosses it once each way.
    const helloMs = await medianHelloMs(target.base, target.host, 5);
    const transfer = { base: target.base, host: target.host, bytes: SETTINGS.transferBytes, limitS: SETTINGS.transferLimitS };
    const out = { available: true, rttMs: SETTINGS.rttMs, helloMs, download: await download(transfer), upload: await upload(transfer) };
    log(`${name} @${SETTINGS.rttMs} ms: GET /hello ${helloMs} ms, down ${out.download.mbPerS} MB/s, up ${out.upload.mbPerS} MB/s`);
    return out;
  } finally {
    await target.stop();
  }
}

/**
 * Rounds and slice length for the overhead figures (a variant against its baseline, lib/interleaved.mjs):
 * 3 × repeat + 1 slices of the variant (10 in a full run), each `SETTINGS.wrk.durationS / 3` seconds (at least 2).
 */
function interleave() {
  return { rounds: 3 * SETTINGS.repeat + 1, sliceS: Math.max(2, Math.round(SETTINGS.wrk.durationS / 3)) };
}

/**
 * Runs a measurement `SETTINGS.repeat` times and returns the run with the median `key`, all runs
 * attached as `runs`. A failed run ends the series.
 * @param {string} key @param {() => Promise<Record<string, any>>} fn
 */
async function medianOf(key, fn) {
  const runs = [];
  for (let i = 0; i < SETTINGS.repeat; i++) {
    const run = await attempt(fn);
    if ("error" in run) return runs.length ? { ...median(runs, key), runs } : run;
    runs.push(run);
  }
  return SETTINGS.repeat === 1 ? runs[0] : { ...median(runs, key), runs };
}

/** @param {Record<string, any>[]} runs @param {string} key */
function median(runs, key) {
  const sorted = [...runs].sort((a, b) => (a[key] ?? Infinity) - (b[key] ?? Infinity));
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/**
 * Runs one measurement; a failure becomes `{ error }` in the results instead of ending the run.
 * @template T @param {() => Promise<T>} fn @returns {Promise<T | { error: string }>}
 */
async function attempt(fn) {
  try {
    return await fn();
  } catch (error) {
    log(`failed: ${firstLine(error)}`);
    return { error: String(/** @type {Error} */ (error).message ?? error) };
  }
}

/**
 * Median time of `n` sequential GET /hello, each on a new connection.
 * @param {string} base @param {string | undefined} host @param {number} n
 */
async function medianHelloMs(base, host, n) {
  const times = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    const { status } = await httpGet(`${base}/hello`, { host });
    if (status !== 200) throw new Error(`GET /hello: status ${status}`);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return Math.round(times[Math.floor(n / 2)] * 10) / 10;
}

/** @param {string} message @returns {never} */
function usage(message) {
  process.stderr.write(`bench: ${message}\n${usageLine()}\n`);
  process.exit(2);
}

function usageLine() {
  return `usage: npm run bench -- [--quick] [--only ${[...ORDER, ...OWN_PARTS].join(",")}] [--skip ${PARTS.join(",")}] [--repeat n]`;
}

/** @param {unknown} error */
function firstLine(error) {
  return String(/** @type {Error} */ (error)?.message ?? error).split("\n")[0];
}

/** @param {number} n */
function fmt(n) {
  return Number.isFinite(n) ? Math.round(n).toLocaleString("en-US") : "—";
}
