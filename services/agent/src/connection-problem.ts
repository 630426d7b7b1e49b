import { status, type ServiceError } from "@grpc/grpc-js";
import { ErrorCode, OnrampError } from "@onramp/errors";

/** Why a session with an edge ended or never started: the `problem` of a `disconnected` status. */
export type ConnectionProblem =
  /** Nothing listens at the address (connection refused). */
  | "refused"
  /** The host name does not resolve. */
  | "dns"
  /** No answer in time: a connect timeout, or no Welcome or data connection accept within the handshake timeout. */
  | "timeout"
  /** The host or network is unreachable, or the connection broke before a session was up. */
  | "unreachable"
  /** Something answers there, but not an edge's agent port (e.g. its HTTP port). */
  | "protocol"
  /** A TLS handshake failed. */
  | "tls"
  /** A session that was up (it had its Welcome) ended: the connection dropped or the edge closed it. */
  | "lost"
  /** The edge asked the agent to go, or refused it while draining: it is shutting down. */
  | "draining"
  /** The edge refused the session or a bind with an error a retry may fix, e.g. REGISTRY_UNAVAILABLE. */
  | "edge-error";

/**
 * The `cause` of a session error the agent raised about its own connection: what kind of problem
 * it was and a reason in plain words (never grpc-js or Node text, which stays in `cause`).
 */
export class ConnectionFailure {
  constructor(
    readonly problem: ConnectionProblem,
    readonly reason: string,
    readonly cause?: unknown,
  ) {}
}

/** An OnrampError about the session's own connection, with its ConnectionFailure as cause. */
export function connectionError(code: ErrorCode, message: string, failure: ConnectionFailure): OnrampError {
  return new OnrampError(code, message, { cause: failure });
}

/**
 * Why a session ended, for the `disconnected` status. `welcomed`: it had got its Welcome, so
 * a connection failure now is a session lost rather than an edge never reached. Errors the edge
 * sent (a refused bind, an error code at the end of the session) keep the edge's own message.
 */
export function failureOf(error: OnrampError, welcomed: boolean): { problem: ConnectionProblem; reason: string } {
  const own = error.cause instanceof ConnectionFailure ? error.cause : undefined;
  if (error.code === ErrorCode.EdgeDraining) return { problem: "draining", reason: own?.reason ?? error.message };
  if (!own) return { problem: "edge-error", reason: error.message };
  return { problem: welcomed ? "lost" : own.problem, reason: own.reason };
}

/** Errors from grpc-js (its text) and node:net (errno codes), by what they say, in the order tried. */
const TRANSPORT_ERRORS: ReadonlyArray<[RegExp, ConnectionProblem, string]> = [
  [/ECONNREFUSED/, "refused", "connection refused"],
  [/EAI_AGAIN/, "dns", "name lookup failed (temporary DNS error)"],
  [/ENOTFOUND|EAI_NONAME|EAI_NODATA|Name resolution failed/i, "dns", "host name not found"],
  [/ETIMEDOUT/, "timeout", "connection timed out"],
  [/EHOSTUNREACH/, "unreachable", "host unreachable"],
  [/ENETUNREACH/, "unreachable", "network unreachable"],
  [/ECONNRESET|EPIPE/, "unreachable", "connection reset"],
  [/\b(SSL|TLS)\b|certificate|EPROTO/i, "tls", "TLS handshake failed"],
  // grpc-js's words for an HTTP/1.1 answer, or bytes that are not HTTP/2.
  [/Protocol error/i, "protocol", "not a gRPC server"],
  [/Connection dropped/i, "unreachable", "the connection dropped"],
  [/Failed to connect/i, "unreachable", "the connection closed during setup"],
];

/** What a transport error from grpc-js or node:net means, as a ConnectionFailure keeping the error. */
export function transportFailure(err: unknown): ConnectionFailure {
  const e = err as Partial<ServiceError> & { code?: unknown };
  const text = `${typeof e.code === "string" ? e.code : ""} ${e.details ?? ""} ${e.message ?? String(err)}`;
  for (const [pattern, problem, reason] of TRANSPORT_ERRORS) {
    if (pattern.test(text)) return new ConnectionFailure(problem, reason, err);
  }
  if (e.code === status.UNIMPLEMENTED) return new ConnectionFailure("protocol", "no Onramp agent service there", err);
  if (typeof e.code === "number" && e.code !== status.UNAVAILABLE) {
    return new ConnectionFailure("unreachable", `connection failed (gRPC ${status[e.code] ?? e.code})`, err);
  }
  return new ConnectionFailure("unreachable", "connection failed", err);
}

/** The library's own words behind an error, e.g. grpc-js's "No connection established…": for debug logs only. */
export function underlyingText(error: OnrampError): string | undefined {
  const cause = error.cause instanceof ConnectionFailure ? error.cause.cause : error.cause;
  if (cause === undefined) return undefined;
  const e = cause as Partial<ServiceError>;
  return e.details || e.message || String(cause);
}

/** "10 s", "2.5 s" or "500 ms", for reasons that name a timeout. */
export function formatMs(ms: number): string {
  return ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`;
}
