import { ErrorCode, OnrampError } from "@onramp/errors";
import type { Bus } from "@onramp/mesh";
import type { ControlStore } from "@onramp/registry";
import type { Logger } from "@onramp/telemetry";

export interface RegistryApiOptions {
  /**
   * Where the API's objects live: the etcd store of a mesh (`onramp registry`), or the memory
   * store an embedded edge shares (`onramp edge`). The API never closes it: its owner does.
   */
  store: ControlStore;
  /**
   * Keys to accept from the start (`--api-key` / `ONRAMP_API_KEY`), stored hashed through
   * `ControlStore.ensureBootstrapApiKey` before `ready()` resolves. Default none: the API then
   * accepts only keys already in the store, and every refusal says how to configure one.
   */
  apiKeys?: string[];
  logger: Logger;
  /** Largest request body accepted. Default 1 MiB (the contract's 413 threshold); 1 B–64 MiB. */
  maxBodyBytes?: number;
  /**
   * How long a verified API key is trusted without asking the store again; 0 asks every time.
   * Default 1 s: `verifyApiKey` reads every key from etcd, so a burst of requests would cost a
   * read each, and a second is as long as a revocation through another process may lag (edges
   * take as long to drop a revoked authtoken's sessions).
   */
  keyCacheMs?: number;
  /**
   * The mesh's bus (`onramp registry --nats`, or the embedded edge's own), on which edges say
   * what the registry does not hold: their heartbeats and their members' health and load.
   * Default none: the edges' `last_heartbeat` and the members' `healthy` and `load` are null.
   * The API only listens; the bus stays its owner's to close.
   */
  bus?: Bus;
}

export interface ResolvedRegistryApiOptions {
  readonly store: ControlStore;
  readonly apiKeys: readonly string[];
  readonly logger: Logger;
  readonly maxBodyBytes: number;
  readonly keyCacheMs: number;
  readonly bus: Bus | undefined;
}

const MIB = 1024 * 1024;

/** Defaults filled in, bad values refused with INVALID_ARGUMENT naming the field; called once, at construction. */
export function resolveRegistryApiOptions(options: RegistryApiOptions): ResolvedRegistryApiOptions {
  if (typeof options.store?.verifyApiKey !== "function") throw bad("store", "must be a ControlStore (memory or etcd)");
  if (typeof options.logger?.info !== "function") throw bad("logger", "must be a logger (@onramp/telemetry createLogger)");
  if (options.bus !== undefined && typeof options.bus?.subscribe !== "function") throw bad("bus", "must be a Bus (@onramp/mesh createNatsBus or createInProcessBus)");
  const apiKeys = options.apiKeys ?? [];
  if (!Array.isArray(apiKeys)) throw bad("apiKeys", "must be a list of keys");
  apiKeys.forEach((key: unknown, i) => {
    // The store's rule; its length is the operator's choice (the CLI warns below 16 characters).
    if (typeof key !== "string" || key === "" || key.trim() !== key) {
      throw bad(`apiKeys[${i}]`, "(--api-key / ONRAMP_API_KEY) must be a non-empty string without surrounding spaces (generate one with: openssl rand -hex 32)");
    }
  });
  return {
    store: options.store,
    apiKeys: [...apiKeys],
    logger: options.logger,
    maxBodyBytes: integer("maxBodyBytes", options.maxBodyBytes ?? MIB, 1, 64 * MIB),
    keyCacheMs: integer("keyCacheMs", options.keyCacheMs ?? 1_000, 0, 60_000),
    bus: options.bus,
  };
}

/** `host:port`, `[v6]:port` or `:port` (all interfaces); port 0 picks a free one. */
export function parseListenAddr(value: string): { host: string; port: number } {
  const match = typeof value === "string" ? /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]*)):(\d{1,5})$/.exec(value.trim()) : null;
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) throw bad("addr", `${JSON.stringify(value)} is not host:port (e.g. 127.0.0.1:4041)`);
  return { host: match[1] ?? (match[2] || "0.0.0.0"), port };
}

function integer(field: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) throw bad(field, `must be a whole number from ${min} to ${max}, got ${value}`);
  return value;
}

function bad(field: string, why: string): OnrampError {
  return new OnrampError(ErrorCode.InvalidArgument, `registry API option ${field} ${why}`);
}
