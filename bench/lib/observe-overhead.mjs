// What observability costs on the request path: requests/s through onramp (one edge, one agent)
// with everything off, with tracing at two sampling rates (both processes exporting OTLP/HTTP to a
// local sink), with the agent's inspector recording every request, and with the edge's access log,
// each measured against the all-off edge and agent in alternating slices (lib/interleaved.mjs), so
// machine noise hits both sides of a ratio alike.
import { createServer } from "node:http";
import { startOnramp } from "./targets.mjs";
import { measurePaired, median, startWarm } from "./interleaved.mjs";

/** The sink has settled once it got nothing for this long after a tracing slice... */
const SINK_QUIET_MS = 300;
/** ...or after this long in any case (a steady trickle must not stall the bench). */
const SINK_SETTLE_MAX_MS = 6_000;

/** An OTLP/HTTP endpoint that reads each export and answers 200, counting the bytes it got. */
async function startTraceSink() {
  let bytes = 0;
  let exports = 0;
  const server = createServer((req, res) => {
    req.on("data", (chunk) => (bytes += chunk.length));
    req.on("end", () => {
      exports++;
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(undefined)));
  const { port } = /** @type {import("node:net").AddressInfo} */ (server.address());
  /** Resolves once no export bytes came for `idleMs`, or after `maxMs`. */
  const quiet = async (/** @type {number} */ idleMs, /** @type {number} */ maxMs) => {
    const deadline = performance.now() + maxMs;
    let seen = -1;
    while (seen !== bytes && performance.now() < deadline) {
      seen = bytes;
      await new Promise((r) => setTimeout(r, idleMs));
    }
  };
  return { url: `http://127.0.0.1:${port}`, stats: () => ({ bytes, exports }), quiet, close: () => new Promise((r) => server.close(() => r(undefined))) };
}

/**
 * @param {{ upstream: string, tmp: string }} ctx
 * @param {{ threads: number, connections: number, warmupS: number }} wrk
 * @param {{ rounds: number, sliceS: number }} interleave
 * @param {(msg: string) => void} log
 */
export async function measureObserveOverhead(ctx, wrk, interleave, log) {
  const sink = await startTraceSink();
  const tracing = (/** @type {string} */ ratio) => ({
    ...process.env,
    OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
    OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
    OTEL_TRACES_SAMPLER_ARG: ratio,
  });
  // Exports still under way when a tracing slice ends (at sampler 1.0 the exporter runs behind)
  // belong to the tracing variant, not to whichever slice comes next.
  const settle = () => sink.quiet(SINK_QUIET_MS, SINK_SETTLE_MAX_MS);
  /** @type {Record<string, { label: string, ctx: object, settle?: () => Promise<void> }>} */
  const variants = {
    tracing001: { label: "tracing, sampler 0.01", ctx: { env: tracing("0.01") }, settle },
    tracing1: { label: "tracing, sampler 1.0", ctx: { env: tracing("1.0") }, settle },
    inspector: { label: "inspector on", ctx: { agentArgs: ["--inspect-addr", "127.0.0.1:0"] } },
    accessLog: { label: "edge access log on", ctx: { edgeArgs: [] } },
  };
  /** @type {Record<string, number[]>} */
  const runs = { off: [] };
  /** @type {Record<string, number>} */
  const ratios = {};
  /** @type {Record<string, number[]>} */
  const roundRatios = {};
  let non2xx = 0;
  /** @type {import("./targets.mjs").Target | undefined} */
  let off;
  try {
    off = await startWarm(() => startOnramp(ctx), wrk);
    // Each variant against the same all-off edge and agent, one pair at a time (see lib/interleaved.mjs).
    for (const [key, variant] of Object.entries(variants)) {
      const target = await startWarm(() => startOnramp({ ...ctx, ...variant.ctx }), wrk);
      try {
        const m = await measurePaired({
          baseline: { label: "all off", target: off },
          variant: { label: variant.label, target, settle: variant.settle },
          ...interleave,
          wrk,
          log: (msg) => log(`observability overhead: ${msg}`),
        });
        /** @type {number[]} */ (runs.off).push(...m.baselineRps);
        runs[key] = m.variantRps;
        ratios[key] = m.ratio;
        roundRatios[key] = m.roundRatios;
        non2xx += m.non2xx;
      } finally {
        await target.stop();
      }
    }
  } finally {
    await off?.stop();
    await sink.close();
  }
  const rps = Object.fromEntries(Object.entries(runs).map(([k, xs]) => [k, Math.round(median(xs))]));
  return { rps, ratios, traceExport: sink.stats(), runs, roundRatios, non2xx, ...interleave };
}
