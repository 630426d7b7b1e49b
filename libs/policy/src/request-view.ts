import { connTlsBindings } from "./conn-tls.js";
import { clientIpBindings, legacyGeoBindings } from "./ip-intelligence-bindings.js";
import type { IpIntelligence } from "./ip-intelligence.js";
import { LazyRecord } from "./lazy-record.js";
import { celTimestamp } from "./cel-time.js";
import { STRING_FORM_KEY } from "./cel-types.js";
import type { ConnInfo, EndpointInfo, HttpRequestState, RequestContext, ResponseInfo, TcpContext } from "./context.js";
import { type ResponseCookie, parseSetCookies } from "./set-cookie.js";
import { type UserAgentInfo, parseUserAgent } from "./user-agent.js";

/**
 * Derived views of a request (query parameters, cookies, User-Agent, full URL), each computed on
 * first use and recomputed only if an action changed its source, so a policy that never looks at
 * cookies never parses them.
 */
export class RequestView {
  private queryCache: { raw: string; params: Map<string, string[]> } | undefined;
  private cookieCache: { headers: readonly string[]; cookies: Map<string, string[]> } | undefined;
  private cookieRecordCache: { from: Map<string, string[]>; records: Map<string, Array<{ name: string; value: string }>> } | undefined;
  private uaCache: UserAgentInfo | undefined;

  constructor(readonly request: HttpRequestState) {}

  queryParams(): Map<string, string[]> {
    const raw = this.request.rawQuery;
    if (this.queryCache?.raw !== raw) {
      const params = new Map<string, string[]>();
      for (const [k, v] of new URLSearchParams(raw)) {
        const list = params.get(k);
        if (list) list.push(v);
        else params.set(k, [v]);
      }
      this.queryCache = { raw, params };
    }
    return this.queryCache.params;
  }

  cookies(): Map<string, string[]> {
    const headers = this.request.headers.get("cookie") ?? [];
    // Compared value by value rather than joined: the same strings compare in O(1), so reading
    // `req.cookies` in a loop does not go over an 8 KB Cookie header for every element.
    const cached = this.cookieCache;
    if (cached === undefined || cached.headers.length !== headers.length || cached.headers.some((h, i) => h !== headers[i])) {
      const raw = headers.join("; ");
      const cookies = new Map<string, string[]>();
      for (const part of raw.split(";")) {
        const eq = part.indexOf("=");
        if (eq <= 0) continue;
        const name = part.slice(0, eq).trim();
        let value = part.slice(eq + 1).trim();
        if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
        const list = cookies.get(name);
        if (list) list.push(value);
        else cookies.set(name, [value]);
      }
      this.cookieCache = { headers: [...headers], cookies };
      return cookies;
    }
    return cached.cookies;
  }

  /**
   * `req.cookies`: name → `{name, value}` records, built once per cookie header like the rest,
   * so reading it inside a loop does not rebuild the map for every element.
   */
  cookieRecords(): Map<string, Array<{ name: string; value: string }>> {
    const cookies = this.cookies();
    if (this.cookieRecordCache?.from !== cookies) {
      const records = new Map<string, Array<{ name: string; value: string }>>();
      for (const [name, values] of cookies) records.set(name, values.map((value) => ({ name, value })));
      this.cookieRecordCache = { from: cookies, records };
    }
    return this.cookieRecordCache.records;
  }

  userAgent(): UserAgentInfo {
    const raw = this.request.headers.get("user-agent")?.[0] ?? "";
    if (this.uaCache?.raw !== raw) this.uaCache = parseUserAgent(raw);
    return this.uaCache;
  }

  hostname(): string {
    return splitHost(this.request.host).hostname;
  }

  port(): number {
    return splitHost(this.request.host).port ?? (this.request.scheme === "https" ? 443 : 80);
  }

  pathAndQuery(): string {
    return this.request.rawQuery ? `${this.request.path}?${this.request.rawQuery}` : this.request.path;
  }

  url(): string {
    return `${this.request.scheme}://${this.request.host}${this.pathAndQuery()}`;
  }
}

export function splitHost(host: string): { hostname: string; port: number | undefined } {
  const m = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(host);
  if (!m) return { hostname: host, port: undefined };
  return { hostname: m[1] ?? host, port: m[2] === undefined ? undefined : Number(m[2]) };
}

/**
 * ngrok's strings with fields (`req.user_agent`, `conn.client_ip`): a record whose string form is
 * under `STRING_FORM_KEY`, where the checker (cel-check.ts) makes every string use of it read.
 */
function stringWithFields(text: () => string, fields: Record<string, () => unknown>): LazyRecord {
  return new LazyRecord({ [STRING_FORM_KEY]: text, ...fields });
}

/** `req.content_type`: the media type, lowercased, with its parameters (RFC 9110 §8.3.1). */
function contentType(raw: string): { mediaType: string; parameters: Map<string, string> } {
  const [type = "", ...params] = raw.split(";");
  const parameters = new Map<string, string>();
  for (const p of params) {
    const eq = p.indexOf("=");
    if (eq <= 0) continue;
    let value = p.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    parameters.set(p.slice(0, eq).trim().toLowerCase(), value);
  }
  return { mediaType: type.trim().toLowerCase(), parameters };
}

/** `req.content_encoding`, `res.content_encoding`: every coding of the `Content-Encoding` headers, lowercased, in order. */
function contentEncodings(headers: Map<string, string[]>): string[] {
  const out: string[] = [];
  for (const header of headers.get("content-encoding") ?? []) {
    for (const coding of header.split(",")) {
      const c = coding.trim().toLowerCase();
      if (c) out.push(c);
    }
  }
  return out;
}

/** `res.content_length`: the `Content-Length` header when it is a valid length, else 0. */
function declaredLength(headers: Map<string, string[]>): bigint {
  const value = headers.get("content-length")?.[0]?.trim();
  return value !== undefined && /^\d{1,15}$/.test(value) ? BigInt(value) : 0n;
}

/** Trailers arrive after the body, and the policy phases run before the edge has it: always empty. */
const NO_TRAILERS: ReadonlyMap<string, string[]> = new Map();

/** The local address without the IPv4-mapped IPv6 prefix, as the edge reports client addresses. */
function plainIp(ip: string | undefined): string {
  if (ip === undefined) return "";
  return ip.startsWith("::ffff:") && ip.includes(".") ? ip.slice(7) : ip;
}

const DEFAULT_PORTS: Readonly<Record<EndpointInfo["protocol"], number>> = { http: 80, https: 443, tls: 443, tcp: 0 };

/** `endpoint.port`: as given, else the port in the endpoint's URL, else its scheme's default. */
export function endpointPort(endpoint: EndpointInfo): number {
  if (endpoint.port !== undefined) return endpoint.port;
  const named = /^[a-z][a-z0-9+.-]*:\/\/(?:\[[^\]]*\]|[^/:?#]*)(?::(\d+))?/i.exec(endpoint.url)?.[1];
  return named !== undefined ? Number(named) : DEFAULT_PORTS[endpoint.protocol];
}

const responseCookieCache = new WeakMap<ResponseInfo, { headers: readonly string[]; cookies: Map<string, ResponseCookie[]> }>();

/**
 * `res.cookies` and the response cookie macros: the `Set-Cookie` headers parsed on first use, and
 * again only if an action changed them.
 */
export function responseCookies(res: ResponseInfo): Map<string, ResponseCookie[]> {
  const headers = res.headers.get("set-cookie") ?? [];
  const cached = responseCookieCache.get(res);
  if (cached !== undefined && cached.headers.length === headers.length && cached.headers.every((h, i) => h === headers[i])) return cached.cookies;
  const cookies = parseSetCookies(headers);
  responseCookieCache.set(res, { headers: [...headers], cookies });
  return cookies;
}

/** A byte count as a CEL int; 0 when the connection does not report one. */
function count(n: number | undefined): bigint {
  return n !== undefined && Number.isSafeInteger(n) && n >= 0 ? BigInt(n) : 0n;
}

function connBindings(conn: ConnInfo, regionName: string, ipIntelligence: IpIntelligence | undefined): LazyRecord {
  return new LazyRecord({
    client_ip: () => clientIpBindings(conn, ipIntelligence),
    geo: () => legacyGeoBindings(conn, ipIntelligence),
    client_port: () => BigInt(conn.clientPort),
    server_ip: () => conn.serverIp ?? plainIp(conn.socket?.localAddress),
    server_port: () => BigInt(conn.serverPort ?? conn.socket?.localPort ?? 0),
    bytes_in: () => count(conn.socket?.bytesRead),
    bytes_out: () => count(conn.socket?.bytesWritten),
    server_region: () => conn.serverRegion ?? regionName,
    ts: () => new LazyRecord({ start: () => celTimestamp(conn.startedAtMs) }),
    tls: () => connTlsBindings(conn.tls?.()),
  });
}

function endpointBindings(endpoint: EndpointInfo): LazyRecord {
  return new LazyRecord({
    id: () => endpoint.id,
    url: () => endpoint.url,
    host: () => endpoint.host,
    protocol: () => endpoint.protocol,
    port: () => BigInt(endpointPort(endpoint)),
    addr: () => `${endpoint.host.includes(":") ? `[${endpoint.host}]` : endpoint.host}:${endpointPort(endpoint)}`,
  });
}

function contentTypeBindings(headers: Map<string, string[]>): LazyRecord {
  const raw = headers.get("content-type")?.[0] ?? "";
  const parsed = contentType(raw);
  return stringWithFields(() => parsed.mediaType, { raw: () => raw, parameters: () => parsed.parameters });
}

function requestBindings(view: RequestView, conn: ConnInfo): LazyRecord {
  const r = view.request;
  const url = stringWithFields(() => view.url(), {
    // No request carries `user:password@` (browsers strip it), so the authority is the Host.
    authority: () => r.host,
    user_password: () => "",
    raw_path: () => r.path,
    uri: () => view.pathAndQuery(),
    path: () => r.path,
    query: () => r.rawQuery,
    query_params: () => view.queryParams(),
    raw: () => view.url(),
    scheme: () => r.scheme,
    host: () => view.hostname(),
    port: () => BigInt(view.port()),
  });
  const userAgent = stringWithFields(() => view.userAgent().raw, {
    raw: () => view.userAgent().raw,
    name: () => view.userAgent().name,
    version: () => view.userAgent().version,
    os: () => view.userAgent().os,
    os_version: () => view.userAgent().osVersion,
    is_mobile: () => view.userAgent().isMobile,
    is_tablet: () => view.userAgent().isTablet,
    is_desktop: () => view.userAgent().isDesktop,
    device_type: () => view.userAgent().deviceType,
    device: () => view.userAgent().device,
    url: () => view.userAgent().url,
    is_bot: () => view.userAgent().isBot,
    browser: () => {
      const ua = view.userAgent();
      return new LazyRecord({ name: () => ua.browserName, version: () => ua.browserVersion });
    },
  });
  return new LazyRecord({
    method: () => r.method,
    host: () => r.host,
    headers: () => r.headers,
    content_length: () => BigInt(r.contentLength ?? 0),
    content_type: () => contentTypeBindings(r.headers),
    content_encoding: () => contentEncodings(r.headers),
    cookies: () => view.cookieRecords(),
    location: () => r.headers.get("location")?.[0] ?? "",
    trailers: () => NO_TRAILERS,
    // `body_received` is declared (cel-variables.ts) only to reject it: the phase runs before the body.
    ts: () => new LazyRecord({ header_received: () => celTimestamp(r.receivedAtMs ?? conn.startedAtMs) }),
    url: () => url,
    user_agent: () => userAgent,
    version: () => `HTTP/${r.httpVersion ?? "1.1"}`,
  });
}

function responseBindings(res: ResponseInfo): LazyRecord {
  return new LazyRecord({
    status_code: () => BigInt(res.statusCode),
    headers: () => res.headers,
    content_type: () => contentTypeBindings(res.headers),
    content_encoding: () => contentEncodings(res.headers),
    content_length: () => declaredLength(res.headers),
    cookies: () => responseCookies(res),
    location: () => res.headers.get("location")?.[0] ?? "",
    trailers: () => NO_TRAILERS,
  });
}

/**
 * The CEL variables for one phase execution. Getters keep this cheap: a value is computed when an
 * expression reads it, and always reflects the request as actions have left it so far.
 */
export function buildBindings(
  ctx: RequestContext | TcpContext,
  view: RequestView | undefined,
  res: ResponseInfo | undefined,
  now: () => number,
  regionName: string,
  ipIntelligence?: IpIntelligence,
): Record<string, unknown> {
  const bindings: Record<string, unknown> = {
    conn: connBindings(ctx.conn, regionName, ipIntelligence),
    endpoint: endpointBindings(ctx.endpoint),
    // ngrok types time.now as an RFC 3339 string (Go's time.RFC3339: whole seconds, UTC "Z").
    time: new LazyRecord({ now: () => rfc3339(now()) }),
    vars: ctx.vars,
    actions: { ngrok: ctx.actionResults },
  };
  if (view) bindings["req"] = requestBindings(view, ctx.conn);
  if (res) bindings["res"] = responseBindings(res);
  return bindings;
}

/** `ms` as ngrok writes `time.now`: RFC 3339 in UTC with whole seconds, e.g. `2026-12-01T23:45:19Z`. */
export function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}
