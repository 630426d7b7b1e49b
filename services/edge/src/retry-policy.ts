import { ErrorCode } from "@onramp/errors";

/**
 * When a failed attempt may be sent to another member. Only failures before any response head
 * came back are candidates, and only requests whose body is still whole here (none, or buffered
 * inline): a body already streamed to one upstream is never replayed.
 *
 * - ENDPOINT_OFFLINE, RELAY_FAILED: the request never reached an agent (the member's session was
 *   gone at the other edge, or the relay failed before the stream was carried): safe for every method.
 * - UPSTREAM_REFUSED: the agent could not connect to its upstream (refused, unreachable, no
 *   address, connect timeout): the upstream never saw the request, safe for every method.
 * - AGENT_DISCONNECTED, UPSTREAM_ERROR: the connection to the agent, or the agent's to its
 *   upstream, died with the request on it (an upstream process that crashed, say); the upstream
 *   may have seen it, so only idempotent methods (RFC 9110 §9.2.2) are sent again.
 */
export function retryable(code: ErrorCode, method: string): boolean {
  switch (code) {
    case ErrorCode.EndpointOffline:
    case ErrorCode.RelayFailed:
    case ErrorCode.UpstreamRefused:
      return true;
    case ErrorCode.AgentDisconnected:
    case ErrorCode.UpstreamError:
      return IDEMPOTENT.has(method);
    default:
      return false;
  }
}

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);

/**
 * Bounds the extra load retries make: retries may be at most 20% of the requests of the last 10 s,
 * plus a floor of 10 retries a second so a quiet edge can still retry (Finagle's retry budget).
 *
 * Counted over time rather than over requests in flight (Envoy's budget): a member that dies takes
 * all its in-flight requests with it at once, often more than 20% of the edge's in-flight
 * requests, and every one of them should be retried; what must stay bounded is the sustained
 * extra load when many attempts fail, and a time window bounds exactly that.
 */
export class RetryBudget {
  /** Deposits (requests) and withdrawals (retries) per one-second slot of the window. */
  private readonly requests: Float64Array;
  private readonly retries: Float64Array;
  private requestSum = 0;
  private retrySum = 0;
  /** The second the newest slot counts. */
  private second = 0;

  constructor(
    private readonly ratio = 0.2,
    private readonly minPerSecond = 10,
    private readonly windowSeconds = 10,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.requests = new Float64Array(windowSeconds);
    this.retries = new Float64Array(windowSeconds);
    this.second = Math.floor(now() / 1000);
  }

  /** One more request arrived. */
  deposit(): void {
    this.advance();
    this.requests[this.second % this.windowSeconds]!++;
    this.requestSum++;
  }

  /** Takes one retry from the budget; false when it is spent. */
  take(): boolean {
    this.advance();
    if (this.retrySum + 1 > this.minPerSecond * this.windowSeconds + this.ratio * this.requestSum) return false;
    this.retries[this.second % this.windowSeconds]!++;
    this.retrySum++;
    return true;
  }

  /** Moves the window to the current second, forgetting the slots that fell out of it. */
  private advance(): void {
    const second = Math.floor(this.now() / 1000);
    if (second === this.second) return;
    const steps = Math.min(second - this.second, this.windowSeconds);
    for (let i = 1; i <= steps; i++) {
      const slot = (this.second + i) % this.windowSeconds;
      this.requestSum -= this.requests[slot]!;
      this.retrySum -= this.retries[slot]!;
      this.requests[slot] = 0;
      this.retries[slot] = 0;
    }
    this.second = second;
  }
}
