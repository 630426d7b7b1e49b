/**
 * The `Connections` figures of the status screen, named as ngrok's agent names them: `ttl` requests
 * since the start, `opn` in flight now, `rt1`/`rt5` requests per second over the last 1 and 5
 * minutes, `p50`/`p90` request durations in seconds.
 */
export interface ConnectionCounts {
  readonly ttl: number;
  readonly opn: number;
  readonly rt1: number;
  readonly rt5: number;
  /** Undefined until a request has finished. */
  readonly p50: number | undefined;
  readonly p90: number | undefined;
}

/** 5 minutes of one-second buckets: what rt5 needs, and enough for rt1. */
const WINDOW_SECONDS = 300;

/**
 * Durations the percentiles are taken over: the latest 1024 requests, as go-metrics' timers
 * (behind ngrok's figures) keep a sample of 1028. Recent enough to follow a change within a
 * minute at a few requests per second; sorting 1024 numbers per redraw costs nothing.
 */
const DURATION_SAMPLE = 1024;

/**
 * Counts requests for the status screen. Rates are exact averages over a sliding window of
 * one-second buckets (not the exponentially weighted averages ngrok shows), so "rt1 0.50" means
 * 30 requests in the last minute; a window that started less than a minute ago still divides by
 * 60, as a load average does. Time is passed in (ms, as Date.now()), which keeps this testable.
 */
export class RequestStats {
  private total = 0;
  private open = 0;
  private readonly buckets = new Uint32Array(WINDOW_SECONDS);
  /** The second (since the epoch) the newest bucket counts; older buckets are the seconds before it. */
  private newestSecond = -Infinity;
  private readonly durations: number[] = [];
  private nextDuration = 0;

  /** A request began (its head reached the agent). */
  started(now: number): void {
    this.total++;
    this.open++;
    this.advance(now);
    this.buckets[slot(this.newestSecond)]!++;
  }

  /** A request ended, answered or not, after `durationMs`. */
  ended(durationMs: number): void {
    this.open = Math.max(0, this.open - 1);
    if (this.durations.length < DURATION_SAMPLE) this.durations.push(durationMs);
    else this.durations[this.nextDuration] = durationMs;
    this.nextDuration = (this.nextDuration + 1) % DURATION_SAMPLE;
  }

  counts(now: number): ConnectionCounts {
    this.advance(now);
    const sorted = [...this.durations].sort((a, b) => a - b);
    return {
      ttl: this.total,
      opn: this.open,
      rt1: this.perSecond(60),
      rt5: this.perSecond(WINDOW_SECONDS),
      p50: percentile(sorted, 0.5),
      p90: percentile(sorted, 0.9),
    };
  }

  /** Moves the window to `now`'s second, emptying the buckets of the seconds it skips. */
  private advance(now: number): void {
    const second = Math.floor(now / 1000);
    if (second <= this.newestSecond) return;
    const skipped = Math.min(WINDOW_SECONDS, second - this.newestSecond);
    for (let s = second - skipped + 1; s <= second; s++) this.buckets[slot(s)] = 0;
    this.newestSecond = second;
  }

  /** Requests per second over the last `seconds`, the current (partial) second included. */
  private perSecond(seconds: number): number {
    let sum = 0;
    for (let s = this.newestSecond - seconds + 1; s <= this.newestSecond; s++) sum += this.buckets[slot(s)]!;
    return sum / seconds;
  }
}

/** The bucket of second `s`; seconds before 1970 only occur in tests. */
function slot(s: number): number {
  return ((s % WINDOW_SECONDS) + WINDOW_SECONDS) % WINDOW_SECONDS;
}

/** Nearest-rank percentile of ascending `sorted` ms, in seconds; undefined when empty. */
function percentile(sorted: readonly number[], p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]! / 1000;
}
