import { ErrorCode, OnrampError } from "@onramp/errors";

/**
 * Counting for the `rate-limit` action behind a small interface, so an edge can count in memory
 * (this file) or across the mesh. `hit` is synchronous: a shared store answers from its local view
 * and syncs in the background, so no request waits on the network to be counted.
 */
export interface RateLimitStore {
  hit(key: string, capacity: number, windowMs: number, nowMs: number): RateLimitDecision;
}

export interface RateLimitDecision {
  readonly allowed: boolean;
  /** When a denied caller may retry; 0 when allowed. */
  readonly retryAfterMs: number;
  /** Requests left in the window after this one. */
  readonly remaining: number;
}

export interface MemoryRateLimitStoreOptions {
  /**
   * Most buckets kept at once; the least recently used is dropped beyond it. 100k buckets is a few
   * MB, enough for per-client keys on a busy edge, and bounds memory against key-spraying clients.
   */
  readonly maxKeys?: number;
}

/** 1 s: the shortest window the rate-limit action allows; an idle bucket (≥ 2 windows without a hit) outlives that by at most this. */
const SWEEP_INTERVAL_MS = 1000;

interface Bucket {
  windowStart: number;
  windowMs: number;
  current: number;
  previous: number;
}

/**
 * Sliding-window counter (the Cloudflare/nginx-plus approximation): two fixed windows, the previous
 * one weighted by how much of it still overlaps the sliding window. Two numbers per key instead of
 * a timestamp per request, and within a few percent of an exact log for steady traffic.
 */
export function createMemoryRateLimitStore(options: MemoryRateLimitStoreOptions = {}): RateLimitStore & { readonly size: number } {
  const maxKeys = options.maxKeys ?? 100_000;
  if (!Number.isInteger(maxKeys) || maxKeys < 1) {
    throw new OnrampError(ErrorCode.Internal, `createMemoryRateLimitStore: maxKeys must be an integer ≥ 1, got ${maxKeys}`);
  }
  const buckets = new Map<string, Bucket>();
  // The key `hit` touched last, already at the end of `buckets`: a client hitting the same
  // bucket again and again moves nothing.
  let lastKey: string | undefined;
  let sweepAtMs = Number.NEGATIVE_INFINITY;

  const evictIdle = (nowMs: number): void => {
    // Map iteration is in insertion order and `hit` re-inserts touched keys, so the oldest come
    // first; stop at the first live one.
    for (const [key, b] of buckets) {
      if (nowMs - b.windowStart < 2 * b.windowMs) break;
      buckets.delete(key);
    }
  };

  return {
    get size() {
      return buckets.size;
    },
    hit(key, capacity, windowMs, nowMs) {
      const found = buckets.get(key);
      let b = found;
      const aligned = nowMs - (nowMs % windowMs);
      if (b === undefined || b.windowMs !== windowMs) {
        b = { windowStart: aligned, windowMs, current: 0, previous: 0 };
      } else if (aligned !== b.windowStart) {
        b.previous = aligned - b.windowStart === windowMs ? b.current : 0;
        b.current = 0;
        b.windowStart = aligned;
      }
      if (b !== found || key !== lastKey) {
        buckets.delete(key);
        buckets.set(key, b);
        lastKey = key;
        // The least recently used go first; a hit adds at most one key, so this drops at most one.
        while (buckets.size > maxKeys) buckets.delete(buckets.keys().next().value as string);
      }
      // Idle buckets (two windows without a hit) decide nothing a new bucket would not: they only
      // hold memory, so they are swept at most once a second (or when the clock went back), not
      // looked for at every hit.
      if (nowMs >= sweepAtMs || nowMs < sweepAtMs - 2 * SWEEP_INTERVAL_MS) {
        sweepAtMs = nowMs + SWEEP_INTERVAL_MS;
        evictIdle(nowMs);
      }

      const decision = slidingWindowDecision(b.previous, b.current, nowMs - b.windowStart, windowMs, capacity);
      if (decision.allowed) b.current++;
      return decision;
    },
  };
}

/**
 * The sliding-window decision for one request, given the counts of the previous and current
 * fixed windows and the time `elapsed` since the current one started: allowed while the
 * weighted estimate leaves room for it. The caller counts an allowed request. Shared by every
 * store, so a store counting across the mesh decides exactly as the memory store does.
 */
export function slidingWindowDecision(previous: number, current: number, elapsed: number, windowMs: number, capacity: number): RateLimitDecision {
  const estimate = previous * (1 - elapsed / windowMs) + current;
  if (estimate + 1 <= capacity) {
    return { allowed: true, retryAfterMs: 0, remaining: Math.max(0, Math.floor(capacity - estimate - 1)) };
  }
  return { allowed: false, retryAfterMs: retryAfter(previous, current, elapsed, windowMs, capacity), remaining: 0 };
}

/** Time until the weighted count leaves room for one more request. */
function retryAfter(previous: number, current: number, elapsed: number, w: number, capacity: number): number {
  // Still inside this window: the previous window's weight must fall far enough.
  if (previous > 0 && current + 1 <= capacity) {
    const t = w * (1 - (capacity - 1 - current) / previous);
    if (t < w) return Math.max(1, Math.ceil(t - elapsed));
  }
  // In the next window this window becomes the weighted one.
  const untilNext = w - elapsed;
  if (current + 1 <= capacity || current === 0) return Math.max(1, Math.ceil(untilNext));
  const t = w * (1 - (capacity - 1) / current);
  return Math.max(1, Math.ceil(untilNext + t));
}
