/**
 * The closed set of error codes Onramp returns. Every error that reaches an HTTP client carries
 * its code in the `Onramp-Error-Code` header (as `ERR_ONRAMP_<CODE>`), and every error an agent
 * sees on bind or connect carries it in the control message, so scripts and dashboards can match
 * on a stable string instead of parsing prose.
 */
export const ErrorCode = {
  /** No endpoint is bound for the request's Host. */
  EndpointNotFound: "ENDPOINT_NOT_FOUND",
  /** The endpoint existed, but no agent serving it is connected now. */
  EndpointOffline: "ENDPOINT_OFFLINE",
  /** The agent's session ended while the request was in flight. */
  AgentDisconnected: "AGENT_DISCONNECTED",
  /** The agent could not open a connection to its upstream (connection refused, DNS failure). */
  UpstreamRefused: "UPSTREAM_REFUSED",
  /** The upstream did not send response headers in time. */
  UpstreamTimeout: "UPSTREAM_TIMEOUT",
  /** The upstream connection failed after it was opened (reset, malformed response). */
  UpstreamError: "UPSTREAM_ERROR",
  /** The request body is larger than the edge accepts. */
  BodyTooLarge: "BODY_TOO_LARGE",
  /** The request line or headers are larger than the edge accepts. */
  HeadersTooLarge: "HEADERS_TOO_LARGE",
  /** The request is not valid HTTP/1.1. */
  MalformedRequest: "MALFORMED_REQUEST",
  /** The request head, or the next piece of its body, did not arrive in time. */
  RequestTimeout: "REQUEST_TIMEOUT",
  /** The edge does not serve this method (CONNECT: it is not a forward proxy). */
  MethodNotAllowed: "METHOD_NOT_ALLOWED",
  /** A traffic policy needed more work for one request than its budget allows (see docs/security.md). */
  PolicyBudgetExceeded: "POLICY_BUDGET_EXCEEDED",
  /** The client went away before the response finished; sent to the agent, never to a client. */
  ClientClosed: "CLIENT_CLOSED",
  /** The edge is shutting down and takes no new requests. */
  EdgeDraining: "EDGE_DRAINING",
  /** The authtoken is missing or not accepted. */
  AuthFailed: "AUTH_FAILED",
  /**
   * The agent refused the edge: its TLS certificate did not verify (untrusted CA, wrong name,
   * expired), or it does not speak TLS where the agent requires it. The message says which.
   */
  EdgeUntrusted: "EDGE_UNTRUSTED",
  /** The URL is bound elsewhere and pooling is not enabled on both binds. */
  BindConflict: "BIND_CONFLICT",
  /**
   * The authtoken may not bind that URL: its ACL has no rule for the host, or the host is a
   * reserved domain its ACL does not name. The message names the URL and the rule to add.
   */
  BindDenied: "BIND_DENIED",
  /** The URL given to bind is not a URL this edge can serve. */
  InvalidUrl: "INVALID_URL",
  /** A control or data message broke the protocol. */
  ProtocolError: "PROTOCOL_ERROR",
  /** A traffic policy failed validation; the message lists every problem with its position. */
  PolicyInvalid: "POLICY_INVALID",
  /** A traffic policy denied the request (deny, restrict-ips). */
  AccessDenied: "ACCESS_DENIED",
  /** A traffic policy required credentials the request did not carry (basic-auth, jwt-validation). */
  Unauthorized: "UNAUTHORIZED",
  /** A traffic policy's rate limit is exhausted for the request's bucket. */
  RateLimited: "RATE_LIMITED",
  /** A traffic policy's circuit breaker is open after too many upstream failures. */
  CircuitOpen: "CIRCUIT_OPEN",
  /** jwt-validation could fetch no signing keys from any configured JWKS URL. */
  JwksUnavailable: "JWKS_UNAVAILABLE",
  /** openid-connect or oauth could not reach the identity provider (discovery, token or user info endpoint). */
  IdentityProviderUnavailable: "IDENTITY_PROVIDER_UNAVAILABLE",
  /** An http-request action with `on_error: halt` got no usable response from the service it calls. */
  HttpRequestFailed: "HTTP_REQUEST_FAILED",
  /** A traffic policy's verify-webhook action found no valid provider signature on the request. */
  WebhookVerificationFailed: "WEBHOOK_VERIFICATION_FAILED",
  /**
   * A traffic policy had to read a body (verify-webhook, jwt-validation from the body, body
   * find-replace) larger than the edge buffers for policies (`--max-policy-body`).
   */
  PolicyBodyTooLarge: "POLICY_BODY_TOO_LARGE",
  /**
   * The registry (etcd) could not be reached in time, so a bind or claim could not be decided.
   * Retryable: what is already bound keeps serving.
   */
  RegistryUnavailable: "REGISTRY_UNAVAILABLE",
  /** A relay connection to another edge of the mesh failed or was refused. */
  RelayFailed: "RELAY_FAILED",
  /** An option, flag or config value is out of range or malformed. */
  InvalidArgument: "INVALID_ARGUMENT",
  /** The control-plane object named (authtoken, reserved domain, API key, cloud endpoint) does not exist. */
  NotFound: "NOT_FOUND",
  /** The control-plane object to create exists already (a domain reserved twice). */
  AlreadyExists: "ALREADY_EXISTS",
  /** A bug or an unexpected condition inside Onramp. */
  Internal: "INTERNAL",
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const httpStatus: Record<ErrorCode, number> = {
  ENDPOINT_NOT_FOUND: 404,
  ENDPOINT_OFFLINE: 503,
  AGENT_DISCONNECTED: 502,
  UPSTREAM_REFUSED: 502,
  UPSTREAM_TIMEOUT: 504,
  UPSTREAM_ERROR: 502,
  BODY_TOO_LARGE: 413,
  HEADERS_TOO_LARGE: 431,
  MALFORMED_REQUEST: 400,
  REQUEST_TIMEOUT: 408,
  METHOD_NOT_ALLOWED: 405,
  POLICY_BUDGET_EXCEEDED: 500,
  CLIENT_CLOSED: 499,
  EDGE_DRAINING: 503,
  AUTH_FAILED: 401,
  EDGE_UNTRUSTED: 502,
  BIND_CONFLICT: 409,
  BIND_DENIED: 403,
  INVALID_URL: 400,
  PROTOCOL_ERROR: 502,
  POLICY_INVALID: 400,
  ACCESS_DENIED: 403,
  UNAUTHORIZED: 401,
  RATE_LIMITED: 429,
  CIRCUIT_OPEN: 503,
  JWKS_UNAVAILABLE: 503,
  IDENTITY_PROVIDER_UNAVAILABLE: 503,
  HTTP_REQUEST_FAILED: 502,
  WEBHOOK_VERIFICATION_FAILED: 403,
  POLICY_BODY_TOO_LARGE: 413,
  REGISTRY_UNAVAILABLE: 503,
  RELAY_FAILED: 502,
  INVALID_ARGUMENT: 400,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  INTERNAL: 500,
};

const allCodes = new Set<string>(Object.values(ErrorCode));

/** The HTTP status an edge answers with for `code`. */
export function httpStatusOf(code: ErrorCode): number {
  return httpStatus[code];
}

/** The `Onramp-Error-Code` header value for `code`, e.g. `ERR_ONRAMP_UPSTREAM_TIMEOUT`. */
export function headerValueOf(code: ErrorCode): string {
  return `ERR_ONRAMP_${code}`;
}

/** Parses a code received from a peer; anything unknown becomes `INTERNAL`. */
export function parseErrorCode(value: string): ErrorCode {
  return allCodes.has(value) ? (value as ErrorCode) : ErrorCode.Internal;
}

export const ERROR_CODE_HEADER = "onramp-error-code";
