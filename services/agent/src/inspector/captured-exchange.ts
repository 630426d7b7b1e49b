import type { ErrorCode } from "@onramp/errors";
import type { CapturedBody } from "./captured-body.js";

/** One request the inspector keeps: what the upstream got and what it answered. */
export interface CapturedExchange {
  /** The store's id: a per-process prefix and a counter, in hex (ngrok's form), so ids sort by age. */
  readonly id: string;
  /** The endpoint's URL as bound; the API's `tunnel_name`. */
  readonly endpointUrl: string;
  readonly bindId: string;
  /** Origin of the endpoint's upstream: where a replay goes. */
  readonly upstream: string;
  readonly clientAddr: string;
  readonly traceId: string;
  /** Date.now() at the request head. */
  readonly startedAt: number;
  /** The exchange this one replays; undefined for traffic from the edge. */
  readonly replayOf: string | undefined;
  readonly request: {
    readonly method: string;
    /** Path and query. */
    readonly path: string;
    /** Names and values alternating, as the upstream got them. */
    readonly headers: readonly string[];
    readonly body: CapturedBody;
  };
  /** Undefined until the response head comes, and for good when none came. */
  response: CapturedResponse | undefined;
  readonly responseBody: CapturedBody;
  /** Undefined while the exchange is in flight. */
  outcome: CapturedOutcome | undefined;
}

export interface CapturedResponse {
  readonly status: number;
  readonly statusText: string;
  readonly headers: readonly string[];
}

export interface CapturedOutcome {
  readonly durationMs: number;
  /** Why it failed, as the edge was told; the cause stays out (it may be large and is not shown). */
  readonly error: { readonly code: ErrorCode; readonly message: string } | undefined;
}
