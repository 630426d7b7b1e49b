// What observability costs on the request path: requests/s through onramp (one edge, one agent)
// with everything off, with tracing at two sampling rates (both processes exporting OTLP/HTTP to a
// local sink), with the agent's inspector recording every request, and with the edge's access log,
// measured alternately in the same run so machine noise hits every variant alike.
import { createServer } from "node:http";
import { startOnramp } from "./targets.mjs";
import { runWrk } from "./wrk.mjs";

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
  return { url: `http://127.0.0.1:${port}`, stats: () => ({ bytes, exports }), close: () => new Promise((r) => server.close(() => r(undefined))) };
}

/**
 * @param {{ upstream: string, tmp: string }} ctx
 * @param {{ threads: number, connections: number, durationS: number, warmupS: number }} wrk
 * @param {number} repeat
 * @param {(msg: string) => void} log
 */
export async function measureObserveOverhead(ctx, wrk, repeat, log) {
  const sink = await startTraceSink();
  const tracing = (/** @type {string} */ ratio) => ({
    ...process.env,
    OTEL_EXPORTER_OTLP_ENDPOINT: sink.url,
    OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
    OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
    OTEL_TRACES_SAMPLER_ARG: ratio,
  });
  /** @type {Record<string, { label: string, ctx: object }>} */
  const variants = {
    off: { label: "all off", ctx: {} },
    tracing001: { label: "tracing, sampler 0.01", ctx: { env: tracing("0.01") } },
    tracing1: { label: "tracing, sampler 1.0", ctx: { env: tracing("1.0") } },
    inspector: { label: "inspector on", ctx: { agentArgs: ["--inspect-addr", "127.0.0.1:0"] } },
    accessLog: { label: "edge access log on", ctx: { edgeArgs: [] } },
  };
  /** @type {Record<string, number[]>} */
  const runs = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  let non2xx = 0;
  try {
    for (let i = 0; i < repeat; i++) {
      for (const [key, variant] of Object.entries(variants)) {
        const target = await startOnramp({ ...ctx, ...variant.ctx });
        try {
          const run = (/** @type {number} */ durationS) => runWrk({ url: `${target.base}/hello`, host: target.host, threads: wrk.threads, connections: wrk.connections, durationS });
          await run(wrk.warmupS);
          const result = await run(wrk.durationS);
          runs[key].push(result.rps);
          non2xx += result.non2xx;
          log(`observability overhead: ${variant.label} ${Math.round(result.rps)} req/s`);
        } finally {
          await target.stop();
        }
      }
    }
  } finally {
    await sink.close();
  }
  const median = (/** @type {number[]} */ xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const rps = Object.fromEntries(Object.entries(runs).map(([k, xs]) => [k, Math.round(median(xs))]));
  const ratio = (/** @type {string} */ k) => (rps.off ? rps[k] / rps.off : 0);
  return {
    rps,
    ratios: { tracing001: ratio("tracing001"), tracing1: ratio("tracing1"), inspector: ratio("inspector"), accessLog: ratio("accessLog") },
    traceExport: sink.stats(),
    runs,
    non2xx,
  };
}
