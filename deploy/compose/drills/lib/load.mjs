// Bounded open-loop load, shared by the failover drills of e2e/ and the compose drills: request i
// is sent at i / rate seconds whatever happened to the ones before it, so a stall shows up as
// latency and failures instead of silently lowering the rate (a closed loop would send less
// exactly when the system is at its worst). Plain JavaScript so that the compose drills run with
// nothing but Node; the types are in load.d.mts.
import { Agent, request } from "node:http";

/** How much of a failed response's body a sample keeps. */
const DETAIL_CHARS = 300;

/** @param {import("./load.d.mts").LoadOptions} options @returns {import("./load.d.mts").LoadRun} */
export function startLoad(options) {
  const rate = options.rate;
  const total = Math.floor((rate * options.durationMs) / 1000);
  const timeoutMs = options.timeoutMs ?? 5_000;
  if (!(rate > 0) || total < 1) throw new Error(`load: rate ${rate}/s for ${options.durationMs} ms sends no request`);
  const requestFor = options.requestFor ?? ((i) => ({ method: "GET", path: `/load/${i}` }));
  // fifo: every socket is reused in turn, so none idles into the server's keep-alive timeout.
  const agent = new Agent({ keepAlive: true, maxSockets: options.sockets ?? 32, scheduling: "fifo" });
  const t0 = performance.now();
  const samples = new Array(total);
  let fired = 0;
  let settled = 0;
  let finish;
  const allSettled = new Promise((resolve) => (finish = resolve));

  const fire = (i) => {
    const spec = requestFor(i);
    const startMs = performance.now() - t0;
    let done = false;
    const settle = (status, error, detail) => {
      if (done) return;
      done = true;
      const ok = status >= 200 && status < 300 && error === undefined;
      samples[i] = { method: spec.method, startMs, latencyMs: performance.now() - t0 - startMs, status, ok, ...(ok ? {} : { error: error ?? String(status), ...(detail ? { detail } : {}) }) };
      if (++settled === total) finish();
    };
    const url = new URL(spec.path, options.base);
    const headers = { host: options.host };
    if (spec.body !== undefined) Object.assign(headers, { "content-type": "application/json", "content-length": Buffer.byteLength(spec.body) });
    const req = request(url, { method: spec.method, agent, headers, signal: AbortSignal.timeout(timeoutMs) }, (res) => {
      const code = res.headers["onramp-error-code"];
      const status = res.statusCode ?? 0;
      const failed = status < 200 || status >= 300;
      // A failure keeps the start of its body: the error's message says which part gave up and why.
      let detail = "";
      res.setEncoding("utf8");
      res.on("data", (text) => {
        if (failed && detail.length < DETAIL_CHARS) detail += text.slice(0, DETAIL_CHARS - detail.length);
      });
      res.on("end", () => settle(status, failed ? (code ? `${status} ${code}` : String(status)) : undefined, detail.trim() || undefined));
      res.on("error", (err) => settle(0, errorKey(err)));
      res.on("close", () => settle(0, "body cut"));
    });
    req.on("error", (err) => settle(0, errorKey(err)));
    req.end(spec.body);
  };

  let timer;
  const tick = () => {
    const now = performance.now() - t0;
    while (fired < total && (fired * 1000) / rate <= now) fire(fired++);
    if (fired < total) timer = setTimeout(tick, Math.max(0, (fired * 1000) / rate - (performance.now() - t0)));
  };
  tick();

  const done = (async () => {
    // Every request has its own timeout, so this settles by duration + timeout; the guard only
    // bounds the wait should a socket never report anything.
    let guard;
    await Promise.race([allSettled, new Promise((resolve) => (guard = setTimeout(resolve, options.durationMs + timeoutMs + 2_000)))]);
    clearTimeout(guard);
    clearTimeout(timer);
    agent.destroy();
    for (let i = 0; i < total; i++) {
      samples[i] ??= { method: requestFor(i).method, startMs: (i * 1000) / rate, latencyMs: timeoutMs, status: 0, ok: false, error: i < fired ? "pending" : "not sent" };
    }
    return samples;
  })();

  const elapsed = () => performance.now() - t0;
  return {
    elapsed,
    at: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms - elapsed()))),
    done,
  };
}

function errorKey(err) {
  if (err.name === "AbortError" || err.name === "TimeoutError" || err.code === "ABORT_ERR") return "timeout";
  return err.code ?? err.name;
}

/** The p-th percentile (0–100) of `values`, nearest rank; NaN when empty. @param {readonly number[]} values @param {number} p */
export function percentile(values, p) {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
