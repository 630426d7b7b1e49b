import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { ErrorCode, OnrampError } from "@onramp/errors";
import { slidingWindowDecision, type RateLimitStore } from "@onramp/policy";
import { RateLimitCountSchema, RateLimitDeltaSchema, type RateLimitCount, type RateLimitDelta } from "@onramp/proto";
import type { Bus } from "./bus.js";

export const SUBJECT_RATE_LIMIT = "onramp.v1.ratelimit";

/**
 * Counts per message. A count is ~20 bytes plus its key (endpoint URL, action name, bucket key:
 * ~100 bytes), so 1000 stay near 120 KB, well under NATS's default 1 MB max_payload.
 */
const MAX_COUNTS_PER_MESSAGE = 1_000;

export interface SharedRateLimitStoreOptions {
  readonly bus: Bus;
  /** This edge's id, sent with its counts; its own messages, echoed back by the bus, are skipped. */
  readonly edgeId: string;
  /**
   * 10 ms: how long counts wait before they are published, so the lag before the other edges see
   * a request. A global limit is overshot by about the requests all edges let through within one
   * lag (plus the bus latency); one message per interval at most keeps a busy edge's traffic flat.
   * 0: at once, on the next turn of the event loop (the workers of one edge, over IPC).
   */
  readonly flushIntervalMs?: number;
  /** 100k buckets, least recently used dropped beyond it (as the memory store). */
  readonly maxKeys?: number;
  /** Called after another edge's counts were added to this edge's view: for metrics and tests. */
  readonly onRemoteCounts?: (edgeId: string, counts: number) => void;
  readonly now?: () => number;
}

export interface SharedRateLimitStore extends RateLimitStore {
  /** Buckets held, this edge's and those learned from others. */
  readonly size: number;
  /** Publishes what is still unsent and leaves the mesh; from then on the store counts alone. */
  close(): void;
}

interface Bucket {
  readonly key: string;
  readonly windowMs: number;
  windowStart: number;
  /** Global counts: this edge's and every other edge's heard so far. */
  current: number;
  previous: number;
}

/**
 * A rate-limit store counting across the mesh. Each edge decides alone and at once from its view,
 * the sliding window (as the memory store) over the global counts: its own plus every other
 * edge's, published as deltas on `onramp.v1.ratelimit` every `flushIntervalMs`. Windows are
 * epoch-aligned, so every edge agrees where they start.
 *
 * While the bus is down the edge counts alone, and what it counts meanwhile is never sent: after
 * a reconnect the others would see it too late to matter, and only as a burst.
 */
export function createSharedRateLimitStore(options: SharedRateLimitStoreOptions): SharedRateLimitStore {
  const { bus, edgeId, onRemoteCounts } = options;
  const flushIntervalMs = options.flushIntervalMs ?? 10;
  const maxKeys = options.maxKeys ?? 100_000;
  const now = options.now ?? Date.now;
  const invalid = (field: string, why: string, value: unknown) =>
    new OnrampError(ErrorCode.InvalidArgument, `createSharedRateLimitStore: ${field} ${why}, got ${JSON.stringify(value)}`);
  if (typeof edgeId !== "string" || edgeId === "") throw invalid("edgeId", "must be a non-empty string", edgeId);
  if (!Number.isInteger(flushIntervalMs) || flushIntervalMs < 0) throw invalid("flushIntervalMs", "must be an integer ≥ 0", flushIntervalMs);
  if (!Number.isInteger(maxKeys) || maxKeys < 1) throw invalid("maxKeys", "must be an integer ≥ 1", maxKeys);

  // By window length and key: two limits on one key (a policy changing its rate) count apart.
  const buckets = new Map<string, Bucket>();
  // This edge's counts since the last flush, by window and key.
  const pending = new Map<string, RateLimitCount>();
  let timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  let closed = false;

  const bucketFor = (key: string, windowMs: number, windowStart: number): Bucket => {
    const id = `${windowMs}:${key}`;
    let b = buckets.get(id);
    if (b === undefined) b = { key, windowMs, windowStart, current: 0, previous: 0 };
    else advance(b, windowStart);
    // Re-inserted, so the map stays in least-recently-used order.
    buckets.delete(id);
    buckets.set(id, b);
    return b;
  };

  const evictIdle = (nowMs: number): void => {
    for (const [id, b] of buckets) {
      if (nowMs - b.windowStart < 2 * b.windowMs && buckets.size <= maxKeys) break;
      buckets.delete(id);
    }
  };

  const flush = (): void => {
    timer = undefined;
    if (pending.size === 0) return;
    const counts = [...pending.values()];
    pending.clear();
    // Counted before the bus went down: dropped with the rest.
    if (!bus.connected) return;
    for (let i = 0; i < counts.length; i += MAX_COUNTS_PER_MESSAGE) {
      const delta = create(RateLimitDeltaSchema, { edgeId, counts: counts.slice(i, i + MAX_COUNTS_PER_MESSAGE) });
      bus.publish(SUBJECT_RATE_LIMIT, toBinary(RateLimitDeltaSchema, delta));
    }
  };

  const record = (b: Bucket): void => {
    if (!bus.connected) return;
    const id = `${b.windowStart}:${b.windowMs}:${b.key}`;
    const count = pending.get(id);
    if (count !== undefined) count.count++;
    else pending.set(id, create(RateLimitCountSchema, { key: b.key, windowStartMs: BigInt(b.windowStart), windowMs: BigInt(b.windowMs), count: 1 }));
    if (timer === undefined) {
      timer = flushIntervalMs === 0 ? setImmediate(flush) : setTimeout(flush, flushIntervalMs);
      timer.unref();
    }
  };

  const receive = (delta: RateLimitDelta): void => {
    for (const c of delta.counts) {
      const windowMs = Number(c.windowMs);
      const windowStart = Number(c.windowStartMs);
      if (!(windowMs > 0) || windowStart % windowMs !== 0 || c.count === 0) continue;
      const b = bucketFor(c.key, windowMs, windowStart);
      if (windowStart === b.windowStart) b.current += c.count;
      else if (windowStart === b.windowStart - windowMs) b.previous += c.count;
      // Older windows no longer weigh on any decision.
    }
    evictIdle(now());
    onRemoteCounts?.(delta.edgeId, delta.counts.length);
  };

  const unsubscribe = bus.subscribe(SUBJECT_RATE_LIMIT, (message) => {
    let delta: RateLimitDelta;
    try {
      delta = fromBinary(RateLimitDeltaSchema, message.data);
    } catch {
      // Delivery is at most once anyway: a message that does not parse counts as lost.
      return;
    }
    if (delta.edgeId !== edgeId && delta.edgeId !== "") receive(delta);
  });

  return {
    get size() {
      return buckets.size;
    },
    hit(key, capacity, windowMs, nowMs) {
      const b = bucketFor(key, windowMs, nowMs - (nowMs % windowMs));
      evictIdle(nowMs);
      // A peer whose clock runs ahead may have moved the bucket into the next window already:
      // then the previous window weighs fully, the cautious reading.
      const decision = slidingWindowDecision(b.previous, b.current, Math.max(0, nowMs - b.windowStart), windowMs, capacity);
      if (decision.allowed) {
        b.current++;
        if (!closed) record(b);
      }
      return decision;
    },
    close() {
      if (closed) return;
      closed = true;
      if (flushIntervalMs === 0) clearImmediate(timer as NodeJS.Immediate | undefined);
      else clearTimeout(timer as NodeJS.Timeout | undefined);
      flush();
      unsubscribe();
    },
  };
}

/** Moves `b` forward to the window starting at `windowStart`; the adjacent one becomes previous. */
function advance(b: Bucket, windowStart: number): void {
  if (windowStart <= b.windowStart) return;
  b.previous = windowStart - b.windowStart === b.windowMs ? b.current : 0;
  b.current = 0;
  b.windowStart = windowStart;
}
