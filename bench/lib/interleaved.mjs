// A variant of onramp measured against a baseline in one stretch of time: both up at once, then
// wrk slices in the order baseline, variant, baseline, variant, …, baseline, so each slice of the
// variant sits between two of the baseline's, and the figure is the median over the rounds of
// (variant slice ÷ the mean of the baseline slices around it).
//
// Why not one after the other, as before: a shared machine's speed drifts over seconds (on a 2-core
// VM the same build ran 10,900 and then 7,600 req/s half a minute later), so a variant that met a
// slow stretch lost 30%, and a 5% question could not be answered. Between two baseline slices a
// variant's slice meets about the same machine; a drift that is linear over the three cancels.
//
// Why two at a time, not every variant in one rotation: a process that sat idle for longer than
// V8's allocation-rate window (5 s) has its young generation shrunk at its next GC (33.6 → 4.2 MB
// seen at the edge), which then grows back over several seconds of load, with more scavenges
// meanwhile. In a rotation of five, each variant idled four slices while the baseline idled one,
// and an A/A run (five identical stacks) put the identical ones at 85–95% of the baseline. In
// strict alternation both idle one slice, alike.
import { runWrk } from "./wrk.mjs";

/**
 * @typedef {object} Side
 * @property {string} label for the log
 * @property {import("./targets.mjs").Target} target started and warmed up by the caller
 * @property {Record<string, string>} [headers] request headers wrk sends
 * @property {() => Promise<void>} [settle] after each of its slices, before the next one (work it left behind, e.g. spans still being exported)
 */

/**
 * @param {object} opts
 * @param {Side} opts.baseline
 * @param {Side} opts.variant
 * @param {number} opts.rounds slices of the variant
 * @param {number} opts.sliceS seconds of wrk per slice
 * @param {{ threads: number, connections: number }} opts.wrk
 * @param {(msg: string) => void} opts.log
 * @returns {Promise<{ ratio: number, roundRatios: number[], baselineRps: number[], variantRps: number[], non2xx: number }>}
 *   baselineRps has rounds + 1 slices; roundRatios[i] = variantRps[i] ÷ mean(baselineRps[i], baselineRps[i + 1])
 */
export async function measurePaired({ baseline, variant, rounds, sliceS, wrk, log }) {
  let non2xx = 0;
  const slice = async (/** @type {Side} */ side) => {
    const result = await runWrk({ url: `${side.target.base}/hello`, host: side.target.host, threads: wrk.threads, connections: wrk.connections, durationS: sliceS, headers: side.headers });
    await side.settle?.();
    non2xx += result.non2xx;
    return result.rps;
  };
  const baselineRps = [await slice(baseline)];
  const variantRps = [];
  const roundRatios = [];
  for (let round = 0; round < rounds; round++) {
    const rps = await slice(variant);
    const after = await slice(baseline);
    const before = /** @type {number} */ (baselineRps.at(-1));
    variantRps.push(rps);
    baselineRps.push(after);
    const reference = (before + after) / 2;
    roundRatios.push(reference ? rps / reference : 0);
    log(`round ${round + 1}/${rounds}: ${variant.label} ${Math.round(rps)} req/s between ${baseline.label} ${Math.round(before)} and ${Math.round(after)}`);
  }
  return { ratio: median(roundRatios), roundRatios, baselineRps, variantRps, non2xx };
}

/**
 * Starts `start`'s target, runs wrk at it for `warmupS` (JIT, pools, windows), and returns it.
 * @param {() => Promise<import("./targets.mjs").Target>} start
 * @param {{ threads: number, connections: number, warmupS: number }} wrk
 * @param {Record<string, string>} [headers]
 */
export async function startWarm(start, wrk, headers) {
  const target = await start();
  try {
    await runWrk({ url: `${target.base}/hello`, host: target.host, threads: wrk.threads, connections: wrk.connections, durationS: wrk.warmupS, headers });
  } catch (err) {
    await target.stop();
    throw err;
  }
  return target;
}

/** @param {number[]} xs */
export function median(xs) {
  const sorted = [...xs].sort((a, b) => a - b);
  if (sorted.length === 0) return 0;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? /** @type {number} */ (sorted[mid]) : (/** @type {number} */ (sorted[mid - 1]) + /** @type {number} */ (sorted[mid])) / 2;
}
