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
  /** The start (300 characters) of a failed response's body: the error message, when there was one. */
  detail?: string;
}

export interface LoadRun {
  /** Time since the run started, in ms. */
  elapsed(): number;
  /** Resolves at `ms` into the run: the schedule of a drill ("strike at 3 s"). */
  at(ms: number): Promise<void>;
  /** Every request settled (answered, failed or timed out); the samples in the order sent. */
  done: Promise<Sample[]>;
}

export function startLoad(options: LoadOptions): LoadRun;

/** The p-th percentile (0–100) of `values`, nearest rank; NaN when empty. */
export function percentile(values: readonly number[], p: number): number;
