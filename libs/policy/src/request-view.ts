import { connTlsBindings } from "./conn-tls.js";
import { type IpSource, clientIpBindings, legacyGeoBindings } from "./ip-intelligence-bindings.js";
import type { IpIntelligence } from "./ip-intelligence.js";
import { type LazyFields, type LazyRecord, lazyRecord } from "./lazy-record.js";
import { type VariablePath, readVariablePath } from "./cel-path-read.js";
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

/**
 * The variables' records, as tables of getters shared by every request (lazy-record.ts): building
 * a phase's variables allocates a handful of objects and no closures. ngrok's strings with fields
 * (`req.url`, `req.user_agent`, `conn.client_ip`) hold their string form under `STRING_FORM_KEY`,
 * where the checker (cel-check.ts) makes every string use of them read.
 */

/** What `conn.*` reads. */
class ConnSource implements IpSource {
  constructor(
    readonly conn: ConnInfo,
    readonly regionName: string,
    readonly intel: IpIntelligence | undefined,
  ) {}
}

const CONN_TS_FIELDS: LazyFields<ConnInfo> = { start: (c) => celTimestamp(c.startedAtMs) };

const CONN_FIELDS: LazyFields<ConnSource> = {
  client_ip: (s) => clientIpBindings(s),
  geo: (s) => legacyGeoBindings(s),
  client_port: (s) => BigInt(s.conn.clientPort),
  server_ip: (s) => s.conn.serverIp ?? plainIp(s.conn.socket?.localAddress),
  server_port: (s) => BigInt(s.conn.serverPort ?? s.conn.socket?.localPort ?? 0),
  bytes_in: (s) => count(s.conn.socket?.bytesRead),
  bytes_out: (s) => count(s.conn.socket?.bytesWritten),
  server_region: (s) => s.conn.serverRegion ?? s.regionName,
  ts: (s) => lazyRecord(CONN_TS_FIELDS, s.conn),
  tls: (s) => connTlsBindings(s.conn.tls?.()),
};

const ENDPOINT_FIELDS: LazyFields<EndpointInfo> = {
  id: (e) => e.id,
  url: (e) => e.url,
  host: (e) => e.host,
  protocol: (e) => e.protocol,
  port: (e) => BigInt(endpointPort(e)),
  addr: (e) => `${e.host.includes(":") ? `[${e.host}]` : e.host}:${endpointPort(e)}`,
};

const TIME_FIELDS: LazyFields<() => number> = {
  // ngrok types time.now as an RFC 3339 string (Go's time.RFC3339: whole seconds, UTC "Z").
  now: (now) => rfc3339(now()),
};

const ACTIONS_FIELDS: LazyFields<Map<string, unknown>> = { ngrok: (results) => results };

interface ContentTypeSource {
  readonly raw: string;
  readonly mediaType: string;
  readonly parameters: Map<string, string>;
}

const CONTENT_TYPE_FIELDS: LazyFields<ContentTypeSource> = {
  [STRING_FORM_KEY]: (c) => c.mediaType,
  raw: (c) => c.raw,
  parameters: (c) => c.parameters,
};

function contentTypeBindings(headers: Map<string, string[]>): LazyRecord {
  const raw = headers.get("content-type")?.[0] ?? "";
  return lazyRecord(CONTENT_TYPE_FIELDS, { raw, ...contentType(raw) });
}

/** What `req.*` reads: the request as actions have left it, and the connection it came on. */
class RequestSource {
  private urlRecord: LazyRecord | undefined = undefined;
  private userAgentRecord: LazyRecord | undefined = undefined;

  constructor(
    readonly view: RequestView,
    readonly conn: ConnInfo,
  ) {}

  url(): LazyRecord {
    return (this.urlRecord ??= lazyRecord(URL_FIELDS, this.view));
  }

  userAgent(): LazyRecord {
    return (this.userAgentRecord ??= lazyRecord(USER_AGENT_FIELDS, this.view));
  }
}

const URL_FIELDS: LazyFields<RequestView> = {
  [STRING_FORM_KEY]: (v) => v.url(),
  // No request carries `user:password@` (browsers strip it), so the authority is the Host.
  authority: (v) => v.request.host,
  user_password: () => "",
  raw_path: (v) => v.request.path,
  uri: (v) => v.pathAndQuery(),
  path: (v) => v.request.path,
  query: (v) => v.request.rawQuery,
  query_params: (v) => v.queryParams(),
  raw: (v) => v.url(),
  scheme: (v) => v.request.scheme,
  host: (v) => v.hostname(),
  port: (v) => BigInt(v.port()),
};

const BROWSER_FIELDS: LazyFields<UserAgentInfo> = { name: (ua) => ua.browserName, version: (ua) => ua.browserVersion };

const USER_AGENT_FIELDS: LazyFields<RequestView> = {
  [STRING_FORM_KEY]: (v) => v.userAgent().raw,
  raw: (v) => v.userAgent().raw,
  name: (v) => v.userAgent().name,
  version: (v) => v.userAgent().version,
  os: (v) => v.userAgent().os,
  os_version: (v) => v.userAgent().osVersion,
  is_mobile: (v) => v.userAgent().isMobile,
  is_tablet: (v) => v.userAgent().isTablet,
  is_desktop: (v) => v.userAgent().isDesktop,
  device_type: (v) => v.userAgent().deviceType,
  device: (v) => v.userAgent().device,
  url: (v) => v.userAgent().url,
  is_bot: (v) => v.userAgent().isBot,
  browser: (v) => lazyRecord(BROWSER_FIELDS, v.userAgent()),
};

const REQUEST_TS_FIELDS: LazyFields<RequestSource> = {
  header_received: (s) => celTimestamp(s.view.request.receivedAtMs ?? s.conn.startedAtMs),
};

const REQUEST_FIELDS: LazyFields<RequestSource> = {
  method: (s) => s.view.request.method,
  host: (s) => s.view.request.host,
  headers: (s) => s.view.request.headers,
  content_length: (s) => BigInt(s.view.request.contentLength ?? 0),
  content_type: (s) => contentTypeBindings(s.view.request.headers),
  content_encoding: (s) => contentEncodings(s.view.request.headers),
  cookies: (s) => s.view.cookieRecords(),
  location: (s) => s.view.request.headers.get("location")?.[0] ?? "",
  trailers: () => NO_TRAILERS,
  // `body_received` is declared (cel-variables.ts) only to reject it: the phase runs before the body.
  ts: (s) => lazyRecord(REQUEST_TS_FIELDS, s),
  url: (s) => s.url(),
  user_agent: (s) => s.userAgent(),
  version: (s) => `HTTP/${s.view.request.httpVersion ?? "1.1"}`,
};

const RESPONSE_FIELDS: LazyFields<ResponseInfo> = {
  status_code: (res) => BigInt(res.statusCode),
  headers: (res) => res.headers,
  content_type: (res) => contentTypeBindings(res.headers),
  content_encoding: (res) => contentEncodings(res.headers),
  content_length: (res) => declaredLength(res.headers),
  cookies: (res) => responseCookies(res),
  location: (res) => res.headers.get("location")?.[0] ?? "",
  trailers: () => NO_TRAILERS,
};

/** The variables every phase has, by name; `req` and `res` read as absent in the phases without them. */
export const VARIABLE_NAMES: ReadonlySet<string> = new Set(["conn", "endpoint", "time", "vars", "actions", "req", "res"]);

/**
 * The CEL variables of one phase execution, one getter per variable (`req` and `res` undefined in
 * the phases without them, which reads as absent), each record made when an expression first reads
 * it: most rules read one or two variables, and a phase of constant edits reads none. A class, so
 * every execution's variables share one shape for @bufbuild/cel's lookups; its state is in private
 * fields, so no name but a variable's reads as anything.
 */
class Bindings {
  readonly #ctx: RequestContext | TcpContext;
  readonly #view: RequestView | undefined;
  readonly #res: ResponseInfo | undefined;
  readonly #now: () => number;
  readonly #regionName: string;
  readonly #intel: IpIntelligence | undefined;
  #conn: LazyRecord | undefined = undefined;
  #endpoint: LazyRecord | undefined = undefined;
  #time: LazyRecord | undefined = undefined;
  #actions: LazyRecord | undefined = undefined;
  #req: LazyRecord | undefined = undefined;
  #resRecord: LazyRecord | undefined = undefined;

  constructor(ctx: RequestContext | TcpContext, view: RequestView | undefined, res: ResponseInfo | undefined, now: () => number, regionName: string, intel: IpIntelligence | undefined) {
    this.#ctx = ctx;
    this.#view = view;
    this.#res = res;
    this.#now = now;
    this.#regionName = regionName;
    this.#intel = intel;
  }

  get conn(): LazyRecord {
    return (this.#conn ??= lazyRecord(CONN_FIELDS, new ConnSource(this.#ctx.conn, this.#regionName, this.#intel)));
  }

  get endpoint(): LazyRecord {
    return (this.#endpoint ??= lazyRecord(ENDPOINT_FIELDS, this.#ctx.endpoint));
  }

  get time(): LazyRecord {
    return (this.#time ??= lazyRecord(TIME_FIELDS, this.#now));
  }

  get vars(): Map<string, unknown> {
    return this.#ctx.vars;
  }

  get actions(): LazyRecord {
    return (this.#actions ??= lazyRecord(ACTIONS_FIELDS, this.#ctx.actionResults));
  }

  get req(): LazyRecord | undefined {
    const view = this.#view;
    return view ? (this.#req ??= lazyRecord(REQUEST_FIELDS, new RequestSource(view, this.#ctx.conn))) : undefined;
  }

  get res(): LazyRecord | undefined {
    const res = this.#res;
    return res ? (this.#resRecord ??= lazyRecord(RESPONSE_FIELDS, res)) : undefined;
  }
}

/**
 * The CEL variables for one phase execution. Lazy records keep this cheap: a value is computed
 * when an expression reads it, and always reflects the request as actions have left it so far.
 */
export function buildBindings(
  ctx: RequestContext | TcpContext,
  view: RequestView | undefined,
  res: ResponseInfo | undefined,
  now: () => number,
  regionName: string,
  ipIntelligence?: IpIntelligence,
): Record<string, unknown> {
  return new Bindings(ctx, view, res, now, regionName, ipIntelligence) as unknown as Record<string, unknown>;
}

export type BindingsMaker = typeof buildBindings;

/**
 * `buildBindings` for one policy: its variables also answer the dotted names of `paths` (the
 * variable paths its expressions read inside larger ones) with the value at the path, when that
 * is a plain value (`readVariablePath`), which spares @bufbuild/cel its lookups of those names as
 * qualified identifiers and types. Anything else reads as absent there, and CEL goes on as before.
 */
export function bindingsMaker(paths: ReadonlyMap<string, VariablePath>): BindingsMaker {
  if (paths.size === 0) return buildBindings;
  class PolicyBindings extends Bindings {}
  for (const [name, path] of paths) {
    Object.defineProperty(PolicyBindings.prototype, name, {
      get(this: Record<string, unknown>) {
        return readVariablePath(path, this);
      },
    });
  }
  return (ctx, view, res, now, regionName, ipIntelligence) => new PolicyBindings(ctx, view, res, now, regionName, ipIntelligence) as unknown as Record<string, unknown>;
}

/** `bindings` and `extra` variables (an action's own, e.g. `http-request`'s `attempts`) in one plain object. */
export function withVariables(bindings: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of VARIABLE_NAMES) out[name] = bindings[name];
  return Object.assign(out, extra);
}

/** `ms` as ngrok writes `time.now`: RFC 3339 in UTC with whole seconds, e.g. `2026-12-01T23:45:19Z`. */
export function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}
