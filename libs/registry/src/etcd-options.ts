import { ErrorCode, OnrampError } from "@onramp/errors";

/**
 * Where the etcd registry logs: the shape of a pino logger's methods, so an edge passes its own
 * logger as is.
 */
export interface RegistryLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface EtcdRegistryOptions {
  /** etcd client URLs, e.g. `http://127.0.0.1:2379`; all `http:` or all `https:`. */
  endpoints: string[];
  /**
   * TTL of the edge's lease: how long the edge's keys outlive the edge. Whole seconds, at least
   * 2 s (etcd's minimum). Default 10 s: rides out a leader election and a few seconds of etcd
   * pause (fsync stall, GC) without losing the lease, while a dead edge's bindings still go
   * within seconds.
   */
  leaseTtlMs?: number;
  /**
   * How long a call waits for etcd, e.g. a claim before it fails with REGISTRY_UNAVAILABLE.
   * Default 5 s: longer than an election (about 1 s) plus a slow disk's fsync, shorter than an
   * agent's bind timeout.
   */
  requestTimeoutMs?: number;
  /**
   * How often a watch asks etcd to prove that its stream is alive (a progress request); a stream
   * that has not answered by the next request is replaced and resumed from the last revision.
   * Default 5 s: etcd3 watch streams have been seen going silent after a reconnect, and a
   * half-open TCP connection (etcd host gone, etcd paused) gives no error at all.
   */
  watchProbeIntervalMs?: number;
  /** Default: silent. */
  logger?: RegistryLogger;
}

export interface ResolvedEtcdRegistryOptions {
  readonly endpoints: readonly string[];
  readonly leaseTtlSeconds: number;
  readonly requestTimeoutMs: number;
  readonly watchProbeIntervalMs: number;
  readonly logger: RegistryLogger;
}

const MIN_LEASE_TTL_MS = 2_000;

/** Defaults filled in, bad values rejected with INVALID_ARGUMENT naming the field; called once. */
export function resolveEtcdRegistryOptions(options: EtcdRegistryOptions): ResolvedEtcdRegistryOptions {
  const { endpoints } = options;
  if (!Array.isArray(endpoints) || endpoints.length === 0) {
    throw invalid("endpoints", "must list at least one etcd client URL, e.g. http://127.0.0.1:2379");
  }
  for (const endpoint of endpoints) {
    if (!isHttpUrl(endpoint)) throw invalid("endpoints", `${JSON.stringify(endpoint)} is not an http:// or https:// URL`);
  }
  if (new Set(endpoints.map((e) => new URL(e).protocol)).size > 1) {
    throw invalid("endpoints", "mixes http:// and https:// URLs; etcd3 connects to all with the same credentials");
  }
  const leaseTtlMs = options.leaseTtlMs ?? 10_000;
  if (!Number.isInteger(leaseTtlMs) || leaseTtlMs < MIN_LEASE_TTL_MS || leaseTtlMs % 1_000 !== 0) {
    throw invalid("leaseTtlMs", `must be whole seconds of at least ${MIN_LEASE_TTL_MS} ms (etcd's minimum lease TTL), got ${leaseTtlMs}`);
  }
  return {
    endpoints: [...endpoints],
    leaseTtlSeconds: leaseTtlMs / 1_000,
    requestTimeoutMs: positiveMs("requestTimeoutMs", options.requestTimeoutMs ?? 5_000),
    watchProbeIntervalMs: positiveMs("watchProbeIntervalMs", options.watchProbeIntervalMs ?? 5_000),
    logger: options.logger ?? silentLogger,
  };
}

function positiveMs(field: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw invalid(field, `must be a whole number of milliseconds ≥ 1, got ${value}`);
  return value;
}

function isHttpUrl(value: unknown): boolean {
  if (typeof value !== "string") return false;
  try {
    const url = new URL(value);
    return (url.protocol === "http:" || url.protocol === "https:") && url.host !== "";
  } catch {
    return false;
  }
}

function invalid(field: string, problem: string): OnrampError {
  return new OnrampError(ErrorCode.InvalidArgument, `etcd registry option ${field} ${problem}`);
}

const silent = (): void => undefined;
const silentLogger: RegistryLogger = { debug: silent, info: silent, warn: silent, error: silent };
