import { constants, Http2ServerRequest, Http2ServerResponse, type Http2Session, type IncomingHttpHeaders, type ServerHttp2Stream } from "node:http2";
import type { IncomingMessage, OutgoingHttpHeader, OutgoingHttpHeaders } from "node:http";

/**
 * The public listener's request handling was written against node:http's IncomingMessage and
 * ServerResponse. Node's HTTP/2 compatibility objects come close, and these subclasses close the
 * rest, so the proxy, policies and error responses work unchanged over HTTP/2:
 *
 * - `:authority` becomes `Host` (in `headers` and `rawHeaders`), pseudo-headers leave
 *   `rawHeaders`, and split `Cookie` fields are joined (RFC 9113 §8.2.3) — the agent speaks
 *   HTTP/1.1 to the upstream.
 * - connection-specific response headers (Connection, Keep-Alive, Proxy-Connection,
 *   Transfer-Encoding, Upgrade, TE), which HTTP/2 forbids (RFC 9113 §8.2.2), are dropped; a
 *   `Connection: close` (a refused body that is never read) instead ends the stream with
 *   RST_STREAM(NO_ERROR) once the response is sent (RFC 9113 §8.1).
 * - a status text is dropped (HTTP/2 has none), fields HTTP/2 allows once keep their first value,
 *   and trailers may be given as pairs, as node:http takes them.
 */

/** Response fields HTTP/2 forbids (RFC 9113 §8.2.2); TE is allowed only as `trailers`, in requests. */
const CONNECTION_SPECIFIC = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "http2-settings"]);

/** Fields Node's HTTP/2 refuses to send more than once (ERR_HTTP2_HEADER_SINGLE_VALUE). */
const SINGLE_VALUE = new Set([
  "access-control-allow-credentials", "access-control-max-age", "access-control-request-method", "age", "authorization",
  "content-encoding", "content-language", "content-length", "content-location", "content-md5", "content-range", "content-type",
  "date", "dnt", "etag", "expires", "from", "host", "if-match", "if-modified-since", "if-none-match", "if-range",
  "if-unmodified-since", "last-modified", "location", "max-forwards", "proxy-authorization", "range", "referer", "retry-after",
  "tk", "upgrade-insecure-requests", "user-agent", "x-content-type-options",
]);

/** What the adapter uses of Node's compatibility request (its constructor is public, though undeclared). */
interface CompatRequest {
  readonly headers: IncomingHttpHeaders;
  readonly stream: ServerHttp2Stream;
}
const RequestBase = Http2ServerRequest as unknown as new (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, options: unknown, rawHeaders: string[]) => CompatRequest;

/** An HTTP/2 request as the listener sees it: Host from `:authority`, raw headers without pseudo-headers. */
export class IngressHttp2Request extends RequestBase {
  private readonly http1RawHeaders: string[];
  /** The size of the head as HTTP/1.1 would count it, for --max-header-size. */
  readonly headBytes: number;

  constructor(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, options: unknown, rawHeaders: string[]) {
    super(stream, headers, options, rawHeaders);
    this.http1RawHeaders = http1RawHeadersOf(headers, rawHeaders);
    this.headBytes = http1HeadBytesOf(rawHeaders);
  }

  get rawHeaders(): string[] {
    return this.http1RawHeaders;
  }
}

/**
 * The bytes of an HTTP/1.1 head with these fields: each `name: value\r\n`, the pseudo-headers
 * standing in for the request line.
 */
export function http1HeadBytesOf(raw: readonly string[]): number {
  let n = 2;
  for (let i = 0; i + 1 < raw.length; i += 2) n += raw[i]!.length + raw[i + 1]!.length + 4;
  return n;
}

/** What an HTTP/2 request's head weighs against --max-header-size; 0 for other requests. */
export function headBytesOf(req: IncomingMessage): number {
  return (req as IncomingMessage & { headBytes?: number }).headBytes ?? 0;
}

/**
 * The raw headers an HTTP/1.1 request would have had: `Host` first (from `:authority`), no
 * pseudo-headers, one `Cookie`. A `Host` field that disagrees with `:authority` is kept next to
 * it, so admission refuses the request for two Hosts (RFC 9113 §8.3.1 calls it malformed).
 * `headers.host` is set from `:authority` too: routing reads it.
 */
export function http1RawHeadersOf(headers: IncomingHttpHeaders, raw: readonly string[]): string[] {
  const authority = headers[":authority"];
  const out: string[] = [];
  if (typeof authority === "string") out.push("host", authority);
  const cookies: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.startsWith(":")) continue;
    const value = raw[i + 1]!;
    const lower = name.toLowerCase();
    if (lower === "cookie") cookies.push(value);
    else if (lower === "host" && value === authority) continue;
    else out.push(name, value);
  }
  if (cookies.length > 0) out.push("cookie", cookies.join("; "));
  if (typeof authority === "string" && headers.host === undefined) headers.host = authority;
  return out;
}

type HeaderValue = number | string | readonly string[];

/** What the adapter uses of Node's compatibility response. */
interface CompatResponse {
  readonly stream: ServerHttp2Stream;
  readonly headersSent: boolean;
  setHeader(name: string, value: HeaderValue): unknown;
  appendHeader(name: string, value: HeaderValue): unknown;
  writeHead(statusCode: number, headers?: string[]): unknown;
  setTrailer(name: string, value: string): void;
  getHeaderNames(): string[];
  hasHeader(name: string): boolean;
  removeHeader(name: string): void;
  end(...args: unknown[]): unknown;
}
const ResponseBase = Http2ServerResponse as unknown as new (stream: ServerHttp2Stream) => CompatResponse;

/** An HTTP/2 response that takes what node:http's ServerResponse takes. */
export class IngressHttp2Response extends ResponseBase {
  private closeStreamWhenSent = false;

  /** node:http has it; the compatibility response does not. */
  get destroyed(): boolean {
    return this.stream.destroyed;
  }

  override setHeader(name: string, value: HeaderValue): this {
    if (!this.dropped(name, value)) super.setHeader(name, value);
    return this;
  }

  /** A field HTTP/2 allows once keeps its first value, as in writeHead. */
  override appendHeader(name: string, value: HeaderValue): this {
    if (this.dropped(name, value)) return this;
    const lower = name.trim().toLowerCase();
    if (SINGLE_VALUE.has(lower) && this.hasHeader(lower)) return this;
    super.appendHeader(name, Array.isArray(value) && SINGLE_VALUE.has(lower) ? value.slice(0, 1) : value);
    return this;
  }

  /** node:http's forms: (status, headers), (status, statusText, headers); the status text is dropped. */
  override writeHead(statusCode: number, statusMessage?: string | OutgoingHttpHeaders | OutgoingHttpHeader[], headers?: OutgoingHttpHeaders | OutgoingHttpHeader[]): this {
    if (typeof statusMessage !== "string" && statusMessage !== undefined) headers = statusMessage;
    try {
      super.writeHead(statusCode, this.sendable(headers));
    } catch (err) {
      // Headers Node refused stay set and would be refused again by the error response: clear them.
      if (!this.headersSent) for (const name of this.getHeaderNames()) this.removeHeader(name);
      throw err;
    }
    return this;
  }

  /** node:http takes an object or `[name, value]` pairs. */
  addTrailers(trailers: OutgoingHttpHeaders | ReadonlyArray<readonly [string, string]>): void {
    const list: Array<readonly [string, unknown]> = Array.isArray(trailers) ? trailers : Object.entries(trailers);
    for (const [name, value] of list) {
      const lower = name.toLowerCase();
      if (value === undefined || lower.startsWith(":") || CONNECTION_SPECIFIC.has(lower)) continue;
      this.setTrailer(lower, Array.isArray(value) ? value.join(", ") : String(value));
    }
  }

  override end(...args: unknown[]): this {
    super.end(...args);
    if (this.closeStreamWhenSent) {
      this.closeStreamWhenSent = false;
      const stream = this.stream;
      // setImmediate, as Node does before closing a stream itself: the last DATA frames go first.
      const close = () =>
        setImmediate(() => {
          if (!stream.closed && !stream.destroyed) stream.close(constants.NGHTTP2_NO_ERROR);
        });
      if (stream.writableFinished) close();
      else stream.once("finish", close);
    }
    return this;
  }

  /** A connection-specific header is not sent; `Connection: close` ends the stream once sent instead. */
  private dropped(name: string, value: unknown): boolean {
    const lower = name.trim().toLowerCase();
    if (!CONNECTION_SPECIFIC.has(lower)) return false;
    if (lower === "connection" && String(value).toLowerCase().includes("close")) this.closeStreamWhenSent = true;
    return true;
  }

  /** The headers of a writeHead call without connection-specific ones, single-value fields once. */
  private sendable(headers: OutgoingHttpHeaders | OutgoingHttpHeader[] | undefined): string[] | undefined {
    if (headers === undefined) return undefined;
    const pairs: Array<[string, unknown]> = [];
    if (Array.isArray(headers)) {
      if (headers.length > 0 && Array.isArray(headers[0])) for (const [n, v] of headers as unknown as Array<[string, unknown]>) pairs.push([n, v]);
      else for (let i = 0; i + 1 < headers.length; i += 2) pairs.push([String(headers[i]), headers[i + 1]]);
    } else {
      for (const [n, v] of Object.entries(headers)) if (v !== undefined) pairs.push([n, v]);
    }
    const out: string[] = [];
    const seen = new Set<string>();
    for (const [name, value] of pairs) {
      if (this.dropped(name, value)) continue;
      const lower = name.toLowerCase();
      if (SINGLE_VALUE.has(lower)) {
        if (seen.has(lower)) continue;
        seen.add(lower);
      }
      for (const v of Array.isArray(value) ? value : [value]) out.push(lower, String(v));
    }
    return out;
  }
}

/**
 * True when the request came over HTTP/2 (the compatibility API's request). Not `httpVersionMajor`:
 * node:http's parser takes `HTTP/2.0` in an HTTP/1 request line too.
 */
export function isHttp2Request(req: IncomingMessage): req is IncomingMessage & { stream: ServerHttp2Stream } {
  return (req as unknown) instanceof Http2ServerRequest;
}

/** The HTTP/2 session (one TLS connection) a request's stream belongs to. */
export function sessionOf(req: IncomingMessage & { stream: ServerHttp2Stream }): Http2Session {
  return req.stream.session!;
}

/** Whether the client said there is a body: over HTTP/2 it is any request whose HEADERS did not end the stream. */
export function http2HasBody(req: IncomingMessage): boolean {
  return isHttp2Request(req) && !req.stream.endAfterHeaders;
}
