import { ErrorCode } from "@onramp/errors";

/**
 * When a failed attempt may be sent to another member. Only failures before any response head
 * came back are candidates, and only requests whose body is still whole here (none, or buffered
 * inline): a body already streamed to one upstream is never replayed.
 *
 * - ENDPOINT_OFFLINE, RELAY_FAILED: the request never reached an agent (the member's session was
 *   gone at the other edge, or the relay failed before the stream was carried): safe for every method.
 * - AGENT_DISCONNECTED: the connection died with the request on it; the upstream may have seen
 *   it, so only idempotent methods (RFC 9110 §9.2.2) are sent again.
 */
export function retryable(code: ErrorCode, method: string): boolean {
  switch (code) {
    case ErrorCode.EndpointOffline:
    case ErrorCode.RelayFailed:
      return true;
    case ErrorCode.AgentDisconnected:
      return IDEMPOTENT.has(method);
    default:
      return false;
  }
}

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);

/**
 * Bounds the extra load retries make, as Envoy's retry budget: retries in flight may be at most
 * 20% of requests in flight, but at least 3 (so a quiet edge can still retry).
 */
export class RetryBudget {
  private active = 0;
  private retrying = 0;

  constructor(
    private readonly ratio = 0.2,
    private readonly minConcurrent = 3,
  ) {}

  /** One more request in flight. */
  begin(): void {
    this.active++;
  }

  /** A request is over; `retried` when it held a retry from `take()`. Call once per `begin()`. */
  end(retried: boolean): void {
    this.active--;
    if (retried) this.retrying--;
  }

  /** Takes a retry from the budget (given back by `end(true)`); false when it is spent. */
  take(): boolean {
    if (this.retrying >= Math.max(this.minConcurrent, this.ratio * this.active)) return false;
    this.retrying++;
    return true;
  }
}
