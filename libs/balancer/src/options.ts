/** Tuning for outlier detection: when a failing member is ejected, and for how long. */
export interface OutlierOptions {
  /**
   * Failures in a row (5xx, reset, timeout) that eject a member. Default 5, as Envoy's
   * `consecutive_5xx`: one bad request is noise; five in a row with no success between them is a
   * member that is broken for everyone it serves.
   */
  consecutiveFailures?: number;
  /**
   * Length of a first ejection, in ms; it doubles with each ejection that follows. Default 10 s:
   * long enough for a crashed upstream to restart, short enough that a member ejected by a burst
   * of bad luck is back before anyone notices the lost capacity.
   */
  baseEjectionMs?: number;
  /**
   * Ceiling for an ejection, in ms. Default 5 min: a member broken for good is re-tried at most
   * every 5 min (one failed request each time, which a retry absorbs), while a fixed one is not
   * kept out for longer than an operator would wait before looking.
   */
  maxEjectionMs?: number;
  /**
   * Most members ejected at once, in percent of the pool. Default 50: failures that hit most of
   * a pool are more likely the requests' fault (or a shared dependency's) than the members', and
   * ejecting them all would only concentrate load. One member may always be ejected when the
   * pool has two or more, so small pools are protected too.
   */
  maxEjectionPercent?: number;
}

export interface PoolOptions {
  /** Id of the edge that picks; its own members form tier 0. Unset: no member is tier 0. */
  localEdge?: string;
  /** Region of the edge that picks; other edges there form tier 1. Unset: every edge is local to the region. */
  localRegion?: string;
  /**
   * How much a tier's healthy share is inflated before it spills traffic. Default 1.4, Envoy's
   * overprovisioning factor: a tier is assumed to run at ≤ 70 % so it can lose ~28 % of its
   * weight and still take all of its traffic; past that a proportional share spills to the next
   * tier. Must be ≥ 1.
   */
  overprovisioning?: number;
  /**
   * Healthy share of the pool's weight below which health checks and ejections are ignored, from
   * 0 to 1. Default 0.25 (Envoy's `healthy_panic_threshold` is 0.5): an agent's failing check
   * usually means its upstream really is down, so checks are trusted longer; at 0.25 the
   * survivors already carry 4× their share and would fall over too. Below it, spreading over
   * every ready member serves most requests instead of answering 503. 0 disables panic routing.
   */
  panicThreshold?: number;
  /** Source of randomness in [0, 1); injectable so tests are deterministic. Default Math.random. */
  random?: () => number;
  outlier?: OutlierOptions;
}

export type ResolvedOutlierOptions = Required<OutlierOptions>;

export interface ResolvedPoolOptions {
  readonly localEdge: string | undefined;
  readonly localRegion: string | undefined;
  readonly overprovisioning: number;
  readonly panicThreshold: number;
  readonly random: () => number;
  readonly outlier: ResolvedOutlierOptions;
}

/** Defaults every pool option and rejects a bad one with an error naming it. */
export function resolvePoolOptions(options: PoolOptions = {}): ResolvedPoolOptions {
  const resolved: ResolvedPoolOptions = {
    localEdge: options.localEdge,
    localRegion: options.localRegion,
    overprovisioning: options.overprovisioning ?? 1.4,
    panicThreshold: options.panicThreshold ?? 0.25,
    random: options.random ?? Math.random,
    outlier: resolveOutlierOptions(options.outlier),
  };
  for (const field of ["localEdge", "localRegion"] as const) {
    const value = resolved[field];
    if (value !== undefined && (typeof value !== "string" || value === "")) {
      throw new TypeError(`balancer option ${field} must be a non-empty string, got ${String(value)}`);
    }
  }
  if (!Number.isFinite(resolved.overprovisioning) || resolved.overprovisioning < 1) {
    throw new RangeError(`balancer option overprovisioning must be a number ≥ 1, got ${resolved.overprovisioning}`);
  }
  if (!inRange(resolved.panicThreshold, 0, 1)) {
    throw new RangeError(`balancer option panicThreshold must be a number from 0 to 1, got ${resolved.panicThreshold}`);
  }
  if (typeof resolved.random !== "function") {
    throw new TypeError("balancer option random must be a function returning a number in [0, 1)");
  }
  return resolved;
}

export function resolveOutlierOptions(options: OutlierOptions = {}): ResolvedOutlierOptions {
  const resolved: ResolvedOutlierOptions = {
    consecutiveFailures: options.consecutiveFailures ?? 5,
    baseEjectionMs: options.baseEjectionMs ?? 10_000,
    maxEjectionMs: options.maxEjectionMs ?? 300_000,
    maxEjectionPercent: options.maxEjectionPercent ?? 50,
  };
  const integer = (field: keyof ResolvedOutlierOptions, min: number) => {
    const value = resolved[field];
    if (!Number.isInteger(value) || value < min) {
      throw new RangeError(`balancer option outlier.${field} must be an integer ≥ ${min}, got ${value}`);
    }
  };
  integer("consecutiveFailures", 1);
  integer("baseEjectionMs", 1);
  integer("maxEjectionMs", resolved.baseEjectionMs);
  if (!inRange(resolved.maxEjectionPercent, 0, 100)) {
    throw new RangeError(`balancer option outlier.maxEjectionPercent must be a number from 0 to 100, got ${resolved.maxEjectionPercent}`);
  }
  return resolved;
}

function inRange(value: number, min: number, max: number): boolean {
  return typeof value === "number" && value >= min && value <= max;
}
