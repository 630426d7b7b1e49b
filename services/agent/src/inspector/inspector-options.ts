import { ErrorCode, OnrampError } from "@onramp/errors";

/** What the inspector keeps, and for how long a replay may wait. */
export interface InspectorOptions {
  /**
   * Bytes kept of each request body and of each response body, 0–16 MiB; longer bodies are cut
   * and marked truncated. Default 64 KiB: whole webhook payloads and API answers, while one large
   * upload or download costs no more than a small one.
   */
  bodyBytes?: number;
  /** Exchanges kept, oldest dropped first, 1–100 000. Default 200, as many as a debugging session looks back on. */
  maxRequests?: number;
  /**
   * Body bytes kept across all exchanges, oldest dropped first; at least twice `bodyBytes` (one
   * exchange's request and response). Default 32 MiB: the inspector's memory stays bounded
   * however large the traffic, and the defaults above rarely reach it.
   */
  maxTotalBodyBytes?: number;
  /**
   * Time a replayed request's upstream has to send its response head, in ms. Default 60 s, the
   * agent's own upstream timeout.
   */
  replayTimeoutMs?: number;
}

export interface ResolvedInspectorOptions {
  bodyBytes: number;
  maxRequests: number;
  maxTotalBodyBytes: number;
  replayTimeoutMs: number;
}

export function resolveInspectorOptions(options: InspectorOptions): ResolvedInspectorOptions {
  const resolved: ResolvedInspectorOptions = {
    bodyBytes: options.bodyBytes ?? 64 * 1024,
    maxRequests: options.maxRequests ?? 200,
    maxTotalBodyBytes: options.maxTotalBodyBytes ?? 32 * 1024 * 1024,
    replayTimeoutMs: options.replayTimeoutMs ?? 60_000,
  };
  const int = (field: keyof ResolvedInspectorOptions, min: number, max: number) => {
    const v = resolved[field];
    if (!Number.isInteger(v) || v < min || v > max) {
      throw new OnrampError(ErrorCode.InvalidArgument, `inspector option ${field}: must be an integer from ${min} to ${max}, got ${String(v)}`);
    }
  };
  int("bodyBytes", 0, 16 * 1024 * 1024);
  int("maxRequests", 1, 100_000);
  int("maxTotalBodyBytes", 2 * resolved.bodyBytes, Number.MAX_SAFE_INTEGER);
  int("replayTimeoutMs", 1, Number.MAX_SAFE_INTEGER);
  return resolved;
}
