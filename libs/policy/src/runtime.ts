import { ErrorCode, OnrampError } from "@onramp/errors";
import { type RateLimitStore, createMemoryRateLimitStore } from "./rate-limit-store.js";

/**
 * Everything the engine needs from the outside world, injected so the library does no I/O of its
 * own and tests control time and the network.
 */
export interface PolicyRuntime {
  /** Milliseconds since the epoch; drives `time.now`, JWT expiry, rate windows, circuit breakers. */
  now(): number;
  /** GETs a JSON document (JWKS); rejects on a non-2xx status or when `signal` aborts. */
  fetchJson(url: string, signal: AbortSignal): Promise<unknown>;
  readonly rateLimits: RateLimitStore;
}

async function fetchJsonWithGlobalFetch(url: string, signal: AbortSignal): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, { signal, headers: { accept: "application/json" } });
  } catch (err) {
    if (signal.aborted) throw err;
    throw OnrampError.from(err, ErrorCode.UpstreamError, `fetching ${url} failed`);
  }
  if (!res.ok) throw new OnrampError(ErrorCode.UpstreamError, `fetching ${url} failed: HTTP ${res.status}`);
  return res.json();
}

/** A runtime with defaults for whatever `partial` leaves out: `Date.now`, global `fetch`, in-memory counting. */
export function createPolicyRuntime(partial: Partial<PolicyRuntime> = {}): PolicyRuntime {
  return {
    now: partial.now ?? Date.now,
    fetchJson: partial.fetchJson ?? fetchJsonWithGlobalFetch,
    rateLimits: partial.rateLimits ?? createMemoryRateLimitStore(),
  };
}
