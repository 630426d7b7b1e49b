import type { ConnTls } from "./conn-tls.js";
/**
 * What the edge tells the engine about one connection and request. The edge builds these from its
 * sockets; the engine reads them and mutates `request` (headers, path, query) as actions run, so the
 * edge forwards whatever is left after the request phase.
 */

export interface ConnInfo {
  readonly clientIp: string;
  readonly clientPort: number;
  readonly serverIp?: string;
  readonly serverPort?: number;
  /** Region of the edge that accepted the connection; defaults to the policy's `regionName`. */
  readonly serverRegion?: string;
  /** When the connection was accepted, in ms since the epoch (`conn.ts.start`). */
  readonly startedAtMs: number;
  /**
   * The client connection itself, read only when an expression asks (`conn.bytes_in`,
   * `conn.bytes_out`, and `conn.server_ip`/`conn.server_port` when those are not given above):
   * a `net.Socket` fits, so the edge passes its socket and pays nothing per request.
   */
  readonly socket?: ConnCounters;
  /** The connection's TLS (`conn.tls.*`, terminate-tls), read only when asked; absent or undefined for plaintext. */
  readonly tls?: () => ConnTls | undefined;
}

/** What `conn.*` reads from a live connection: byte counts so far and the local address. */
export interface ConnCounters {
  readonly bytesRead: number;
  readonly bytesWritten: number;
  readonly localAddress?: string | undefined;
  readonly localPort?: number | undefined;
}

export interface EndpointInfo {
  readonly id: string;
  /** The endpoint's URL as bound, e.g. `https://api.example.com` or `https://foo.internal`. */
  readonly url: string;
  readonly host: string;
  readonly protocol: "http" | "https" | "tcp" | "tls";
  /** The endpoint's port (`endpoint.port`); when absent, the one in `url`, else the scheme's default. */
  readonly port?: number;
}

/** The request as it will be forwarded; actions edit it in place. */
export interface HttpRequestState {
  method: string;
  scheme: "http" | "https";
  /** Host header value, possibly with a port. */
  host: string;
  /** Path only, starting with `/`, still percent-encoded. */
  path: string;
  /** Query string without the leading `?`, still encoded; empty when there is none. */
  rawQuery: string;
  /** Lowercase header name → values in arrival order. */
  headers: Map<string, string[]>;
  /** Declared body length, when known. */
  contentLength?: number;
  /** The HTTP version as Node gives it (`1.1`, `2.0`); `req.version` is `HTTP/` and this, `HTTP/1.1` when absent. */
  httpVersion?: string;
  /** When the edge received the request head, in ms since the epoch (`req.ts.header_received`); the connection's start when absent. */
  receivedAtMs?: number;
  /** The body, read on demand, when the policy has actions that need it (`Policy.needsRequestBody`). */
  body?: RequestBodySource;
}

/**
 * The request body, for the actions that need it (verify-webhook, jwt-validation reading a token
 * from the body, request-body-find-replace). The edge hands one over only for policies whose
 * `needsRequestBody` is true, and reads the body on the first `read()`, up to its limit for
 * policies (`--max-policy-body`); requests whose matching rules never ask are streamed as before.
 */
export interface RequestBodySource {
  /** The whole body; the same bytes on every call. Rejects when it is too large, stalls or the client goes away. */
  read(): Promise<Uint8Array>;
  /** Replaces the body to forward (request-body-find-replace); the edge fixes Content-Length. */
  replace(body: Uint8Array): void;
}

/** One request's state across both HTTP phases: variables and action results carry over. */
export interface RequestContext {
  readonly conn: ConnInfo;
  readonly endpoint: EndpointInfo;
  readonly request: HttpRequestState;
  /** `vars.*`, written by `set-vars`; values are CEL values. */
  readonly vars: Map<string, unknown>;
  /** `actions.ngrok.*`: the latest result of each action type, e.g. `rate_limit`. */
  readonly actionResults: Map<string, unknown>;
}

/** The upstream's response, mutable in the response phase (headers added/removed). */
export interface ResponseInfo {
  statusCode: number;
  headers: Map<string, string[]>;
}

/** What `on_tcp_connect` sees: no request yet. */
export interface TcpContext {
  readonly conn: ConnInfo;
  readonly endpoint: EndpointInfo;
  readonly vars: Map<string, unknown>;
  readonly actionResults: Map<string, unknown>;
}

export function createRequestContext(init: {
  conn: ConnInfo;
  endpoint: EndpointInfo;
  request: HttpRequestState;
}): RequestContext {
  // Fields named, not spread: copying `init` with `...` took 3% of an edge's CPU under a policy.
  return { conn: init.conn, endpoint: init.endpoint, request: init.request, vars: new Map(), actionResults: new Map() };
}

export function createTcpContext(init: { conn: ConnInfo; endpoint: EndpointInfo }): TcpContext {
  return { ...init, vars: new Map(), actionResults: new Map() };
}

/** Appends a header value (HTTP allows repeats). Names are lowercased. */
export function appendHeader(headers: Map<string, string[]>, name: string, value: string): void {
  appendLowercaseHeader(headers, name.toLowerCase(), value);
}

/** `appendHeader` for a name lowercased already (e.g. once, when a policy loads). */
export function appendLowercaseHeader(headers: Map<string, string[]>, lower: string, value: string): void {
  const list = headers.get(lower);
  if (list) list.push(value);
  else headers.set(lower, [value]);
}

/** First value of a header, or undefined. */
export function firstHeader(headers: Map<string, string[]>, name: string): string | undefined {
  return headers.get(name.toLowerCase())?.[0];
}
