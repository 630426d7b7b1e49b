import { Agent, request } from "node:http";

/**
 * Bounded open-loop load: request i is sent at i / rate seconds whatever happened to the ones
 * before it, so a stall shows up as latency and failures instead of silently lowering the rate
 * (a closed loop would send less exactly when the system is at its worst).
 */
export interface LoadOptions {
  /** Base URL of the edge's public listener, e.g. http://127.0.0.1:41234 */
  base: string;
  /** Host header: which endpoint. */
  host: string;
  /** Requests per second. */
  rate: number;
  durationMs: number;
  /** Keep-alive sockets; a request waits for a free one and that wait counts in its latency. Default 32. */
  sockets?: number;
  /** A request with no complete answer after this long is aborted and failed. Default 5 s, as a client gives up. */
  timeoutMs?: number;
  /** What request i is; default a GET of /load/i. */
  requestFor?: (i: number) => LoadRequest;
}

export interface LoadRequest {
  method: string;
  path: string;
  body?: string;
}

/** One request's outcome; times in ms from the start of the run. */
export interface Sample {
  method: string;
  startMs: number;
  latencyMs: number;
  /** HTTP status, or 0 when there was no complete response. */
  status: number;
  ok: boolean;
  /** Why it failed: `502 ERR_ONRAMP_…`, `500`, `ECONNRESET`, `timeout`, `body cut`. */
  error?: string;
}

export interface LoadRun {
  /** Time since the run started, in ms. */
  elapsed(): number;
  /** Resolves at `ms` into the run: the schedule of a drill ("strike at 3 s"). */
  at(ms: number): Promise<void>;
  /** Every request settled (answered, failed or timed out); the samples in the order sent. */
  done: Promise<Sample[]>;
}

export function startLoad(options: LoadOptions): LoadRun {
  const rate = options.rate;
  const total = Math.floor((rate * options.durationMs) / 1000);
  const timeoutMs = options.timeoutMs ?? 5_000;
  if (!(rate > 0) || total < 1) throw new Error(`load: rate ${rate}/s for ${options.durationMs} ms sends no request`);
  const requestFor = options.requestFor ?? ((i: number): LoadRequest => ({ method: "GET", path: `/load/${i}` }));
  // fifo: every socket is reused in turn, so none idles into the server's keep-alive timeout.
  const agent = new Agent({ keepAlive: true, maxSockets: options.sockets ?? 32, scheduling: "fifo" });
  const t0 = performance.now();
  const samples: Sample[] = new Array(total);
  let fired = 0;
  let settled = 0;
  let finish!: () => void;
  const allSettled = new Promise<void>((resolve) => (finish = resolve));

  const fire = (i: number) => {
    const spec = requestFor(i);
    const startMs = performance.now() - t0;
    let done = false;
    const settle = (status: number, error?: string) => {
      if (done) return;
      done = true;
      const ok = status >= 200 && status < 300 && error === undefined;
      samples[i] = { method: spec.method, startMs, latencyMs: performance.now() - t0 - startMs, status, ok, ...(ok ? {} : { error: error ?? String(status) }) };
      if (++settled === total) finish();
    };
    const url = new URL(spec.path, options.base);
    const headers: Record<string, string | number> = { host: options.host };
    if (spec.body !== undefined) Object.assign(headers, { "content-type": "application/json", "content-length": Buffer.byteLength(spec.body) });
    const req = request(url, { method: spec.method, agent, headers, signal: AbortSignal.timeout(timeoutMs) }, (res) => {
      const code = res.headers["onramp-error-code"];
      res.resume();
      res.on("end", () => settle(res.statusCode!, res.statusCode! >= 200 && res.statusCode! < 300 ? undefined : code ? `${res.statusCode} ${code}` : String(res.statusCode)));
      res.on("error", (err) => settle(0, errorKey(err)));
      res.on("close", () => settle(0, "body cut"));
    });
    req.on("error", (err) => settle(0, errorKey(err)));
    req.end(spec.body);
  };

  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    const now = performance.now() - t0;
    while (fired < total && (fired * 1000) / rate <= now) fire(fired++);
    if (fired < total) timer = setTimeout(tick, Math.max(0, (fired * 1000) / rate - (performance.now() - t0)));
  };
  tick();

  const done = (async () => {
    // Every request has its own timeout, so this settles by duration + timeout; the guard only
    // bounds the wait should a socket never report anything.
    let guard: NodeJS.Timeout | undefined;
    await Promise.race([allSettled, new Promise<void>((resolve) => (guard = setTimeout(resolve, options.durationMs + timeoutMs + 2_000)))]);
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

function errorKey(err: Error & { code?: string }): string {
  if (err.name === "AbortError" || err.name === "TimeoutError" || err.code === "ABORT_ERR") return "timeout";
  return err.code ?? err.name;
}

/** The p-th percentile (0–100) of `values`, nearest rank; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
