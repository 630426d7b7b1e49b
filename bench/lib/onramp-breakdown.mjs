// Where onramp's time and memory go, each part on a fresh onramp (edge + agent):
//
// - hops: an open loop at the shared rate (half of onramp's max) while the edge's and the agent's
//   Prometheus histograms are read before and after; the differences of their _sum/_count give
//   each process's mean request duration over the run, set against the client's mean and the
//   upstream's own (the direct target's open loop at the same rate).
// - alloc: the onramp row's wrk load (closed loop, one run) with lib/process-probe.cjs preloaded in
//   both processes and its window opened and closed by SIGUSR2 around the run: bytes allocated per
//   request, GC pauses per second, event-loop delay.
import { existsSync, readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, httpGet } from "./http-get.mjs";
import { runOpenLoop } from "./open-loop-runner.mjs";
import { poll } from "./processes.mjs";
import { startOnramp } from "./targets.mjs";
import { runWrk } from "./wrk.mjs";

export const PROBE = join(dirname(fileURLToPath(import.meta.url)), "process-probe.cjs");
const EDGE_DURATION = "onramp_edge_http_request_duration_seconds";
const AGENT_DURATION = "onramp_agent_upstream_request_duration_seconds";

/**
 * @typedef {{ threads: number, connections: number, durationS: number, warmupS: number }} WrkSettings
 * @typedef {{ durationS: number, warmupS: number, connections: number }} OpenLoopSettings
 */

/**
 * Each part on its own fresh onramp, so the agent's metrics are off while allocation is measured
 * (as in the onramp row) and the probe is absent while latency is.
 * @param {{ upstream: string, tmp: string }} ctx
 * @param {{ hops: boolean, alloc: boolean, rate: number | undefined, wrk: WrkSettings, openLoop: OpenLoopSettings,
 *   directOpenLoop?: Record<string, any>, log: (msg: string) => void }} opts
 */
export async function measureOnrampBreakdown(ctx, { hops, alloc, rate, wrk, openLoop, directOpenLoop, log }) {
  /** @type {Record<string, any>} */
  const out = {};
  if (hops) out.hops = await attempt(() => measureHops(ctx, { rate, wrk, openLoop, directOpenLoop, log }), log);
  if (alloc) out.alloc = await attempt(() => measureAlloc(ctx, { wrk, log }), log);
  return out;
}

/**
 * @param {{ upstream: string, tmp: string }} ctx
 * @param {{ rate: number | undefined, wrk: WrkSettings, openLoop: OpenLoopSettings, directOpenLoop?: Record<string, any>, log: (msg: string) => void }} opts
 */
async function measureHops(ctx, { rate, wrk, openLoop, directOpenLoop, log }) {
  if (!rate) throw new Error("no open-loop rate (onramp and nginx unavailable)");
  const metricsPort = await freePort();
  const target = await startOnramp({ ...ctx, agentArgs: ["--inspect=false", "--metrics-addr", `127.0.0.1:${metricsPort}`] });
  try {
    log(`hops: warm-up ${wrk.warmupS} s, then open loop at ${rate}/s for ${openLoop.durationS} s with the edge's and the agent's histograms read around it`);
    await runWrk({ url: `${target.base}/hello`, host: target.host, threads: wrk.threads, connections: wrk.connections, durationS: wrk.warmupS });
    const edgeUrl = `http://${target.admin}/metrics`;
    const agentUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    // No generator warm-up: the client's mean then covers the same requests as the histograms' differences.
    const load = { ...openLoop, warmupS: 0 };
    const before = { edge: await histogram(edgeUrl, EDGE_DURATION), agent: await histogram(agentUrl, AGENT_DURATION) };
    const client = await runOpenLoop({ url: `${target.base}/hello`, host: target.host, rate, ...load });
    const after = { edge: await histogram(edgeUrl, EDGE_DURATION), agent: await histogram(agentUrl, AGENT_DURATION) };
    const direct = directOpenLoop && !directOpenLoop.error && directOpenLoop.targetRate === rate && Number.isFinite(directOpenLoop.meanMs)
      ? { ...directOpenLoop, source: "the direct row's open loop" }
      : { ...(await runOpenLoop({ url: `http://${ctx.upstream}/hello`, rate, ...load })), source: "an open loop to the upstream in this part" };
    return hopBreakdown(rate, client, meanOf(before.edge, after.edge), meanOf(before.agent, after.agent), direct);
  } finally {
    await target.stop();
  }
}

/**
 * @param {{ upstream: string, tmp: string }} ctx
 * @param {{ wrk: WrkSettings, log: (msg: string) => void }} opts
 */
async function measureAlloc(ctx, { wrk, log }) {
  const probeDir = join(ctx.tmp, "probe");
  await mkdir(probeDir, { recursive: true });
  const env = { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --require ${PROBE}`.trim(), ONRAMP_BENCH_PROBE_DIR: probeDir };
  const target = await startOnramp({ ...ctx, env });
  try {
    const run = (/** @type {number} */ durationS) =>
      runWrk({ url: `${target.base}/hello`, host: target.host, threads: wrk.threads, connections: wrk.connections, durationS });
    log(`alloc: warm-up ${wrk.warmupS} s, then wrk -t${wrk.threads} -c${wrk.connections} -d${wrk.durationS}s with the probe in the edge and the agent`);
    await run(wrk.warmupS);
    const procs = { edge: /** @type {import("./processes.mjs").Proc} */ (target.edge), agent: /** @type {import("./processes.mjs").Proc} */ (target.agent) };
    for (const p of Object.values(procs)) p.child.kill("SIGUSR2");
    const load = await run(wrk.durationS);
    for (const p of Object.values(procs)) p.child.kill("SIGUSR2");
    /** @type {Record<string, any>} */
    const processes = {};
    for (const [name, p] of Object.entries(procs)) {
      const file = join(probeDir, `${p.pid}.json`);
      await poll(`${name}'s probe report`, async () => existsSync(file), { attempts: 100, intervalMs: 50 });
      // Written with one writeFileSync; a partial read parses badly and is retried.
      const report = await poll(`${name}'s probe report`, async () => JSON.parse(readFileSync(file, "utf8")), { attempts: 20, intervalMs: 50 });
      processes[name] = {
        ...report,
        bytesPerRequest: Math.round(report.allocatedBytes / load.requests),
        promotedPerRequest: Math.round(report.promotedBytes / load.requests),
        gcPauseMsPerS: Math.round((report.gcPauseMs / report.seconds) * 100) / 100,
      };
    }
    log(`alloc: edge ${processes.edge.bytesPerRequest} B/request, agent ${processes.agent.bytesPerRequest} B/request`);
    return { rps: load.rps, requests: load.requests, non2xx: load.non2xx + load.socketErrors, processes };
  } finally {
    await target.stop();
  }
}

/**
 * A failed part becomes `{ error }` and the other part still runs.
 * @param {() => Promise<Record<string, any>>} fn @param {(msg: string) => void} log
 */
async function attempt(fn, log) {
  try {
    return await fn();
  } catch (error) {
    const message = String(/** @type {Error} */ (error)?.message ?? error);
    log(`failed: ${message.split("\n")[0]}`);
    return { error: message };
  }
}

/**
 * The client's mean split into hops: each process's mean duration contains everything after it.
 * @param {number} rate @param {Record<string, any>} client @param {{ meanMs: number, count: number }} edge
 * @param {{ meanMs: number, count: number }} agent @param {Record<string, any>} direct
 */
function hopBreakdown(rate, client, edge, agent, direct) {
  const r = (/** @type {number} */ v) => Math.round(v * 1000) / 1000;
  return {
    rate,
    client,
    edge,
    agent,
    direct,
    segmentsMs: {
      clientToEdge: r(client.meanMs - edge.meanMs),
      edgeToAgent: r(edge.meanMs - agent.meanMs),
      agentToUpstream: r(agent.meanMs - direct.meanMs),
      upstream: r(direct.meanMs),
    },
  };
}

/** @param {{ sum: number, count: number }} a @param {{ sum: number, count: number }} b */
function meanOf(a, b) {
  const count = b.count - a.count;
  return { count, meanMs: count > 0 ? Math.round(((b.sum - a.sum) / count) * 1e6) / 1e3 : NaN };
}

/**
 * A histogram's _sum and _count over all its label sets, from Prometheus text at `url`.
 * @param {string} url @param {string} name
 */
async function histogram(url, name) {
  const { status, body } = await httpGet(url);
  if (status !== 200) throw new Error(`GET ${url}: status ${status}`);
  let sum = 0;
  let count = 0;
  let seen = false;
  for (const line of body.split("\n")) {
    const m = /^(\w+?)_(sum|count)(?:\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    seen = true;
    if (m[2] === "sum") sum += Number(m[3]);
    else count += Number(m[3]);
  }
  if (!seen && body.includes(`# TYPE ${name} histogram`)) return { sum, count };
  if (!seen) throw new Error(`GET ${url}: no ${name} in the metrics`);
  return { sum, count };
}
