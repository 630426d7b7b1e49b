import { ErrorCode, OnrampError } from "@onramp/errors";

/**
 * How far request paths are normalised beyond what security always requires. Both default on,
 * as Envoy's `normalize_path` and `merge_slashes`: a policy written as
 * `req.url.path.startsWith('/admin')` then matches every spelling of `/admin` a server would.
 */
export interface TargetNormalization {
  /**
   * Decode percent-encoded unreserved characters (`%61` → `a`) and upper-case the hex digits of
   * the other escapes (`%2f` → `%2F`): the equivalences of RFC 3986 §6.2.2.1–2.
   */
  normalizePath: boolean;
  /** Collapse runs of slashes into one (`//admin` → `/admin`). */
  mergeSlashes: boolean;
}

/** A request target the edge can route: origin-form, or the `*` of a server-wide `OPTIONS`. */
export type RequestTarget = { form: "origin"; target: string } | { form: "asterisk" };

const ABSOLUTE_FORM = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^/?#]*)(.*)$/s;
const BAD_ESCAPE = /%(?![0-9a-fA-F]{2})/;
const ESCAPE = /%([0-9a-fA-F]{2})/g;
/** RFC 3986 §2.3: ALPHA / DIGIT / "-" / "." / "_" / "~". */
const UNRESERVED = /^[A-Za-z0-9._~-]$/;

/**
 * The request target as policies and the upstream see it: origin-form (path and query), with the
 * path normalised. Throws MALFORMED_REQUEST for a target the edge will not route.
 *
 * Always, whatever the options, because skipping any of these lets a request past a path rule:
 * - absolute-form (`GET http://host/admin`) becomes origin-form. RFC 9112 §3.2.2 lets the
 *   target's authority win over `Host`; the edge instead requires them to agree (default ports
 *   aside), so the endpoint that routes and the one a policy judged can never differ;
 * - a fragment, a backslash in the path (WHATWG URL parsers read it as `/`) or a `%` not followed
 *   by two hex digits is refused;
 * - dot segments are removed (RFC 3986 §5.2.4), `%2E` spellings included, since servers decode
 *   them; `..` above the root stays at the root.
 *
 * With `normalizePath`, escapes of unreserved characters are decoded before dot segments are
 * removed (RFC 3986 §6.2.2 orders percent-encoding before path segment normalisation). `%2F` is
 * never decoded: `/a%2Fb` is one segment, and decoding it would change what the path names. With
 * `mergeSlashes`, slashes are merged before dot segments are removed, so `/a//../b` is `/b`.
 * The query is passed on untouched.
 */
export function normalizeRequestTarget(raw: string, host: string | undefined, options: TargetNormalization): RequestTarget {
  if (raw === "*") return { form: "asterisk" };
  if (raw.includes("#")) throw malformed("a request target may not carry a fragment (#)");
  let target = raw;
  const absolute = ABSOLUTE_FORM.exec(raw);
  if (absolute) {
    target = originFormOf(absolute[1]!.toLowerCase(), absolute[2]!, absolute[3]!, host);
  } else if (!raw.startsWith("/")) {
    throw malformed(`${JSON.stringify(clip(raw))} is not a request target this edge serves (a path starting with /, or http://host/path)`);
  }
  const q = target.indexOf("?");
  const path = q < 0 ? target : target.slice(0, q);
  const query = q < 0 ? "" : target.slice(q);
  return { form: "origin", target: normalizedPath(path, options) + query };
}

/** The path of a request target, normalised as `normalizeRequestTarget` describes. */
function normalizedPath(path: string, options: TargetNormalization): string {
  if (path.includes("\\")) throw malformed("a backslash is not allowed in a URL path (RFC 3986 §3.3); some servers read it as /");
  if (BAD_ESCAPE.test(path)) throw malformed(`${JSON.stringify(clip(path))} has a % not followed by two hex digits`);
  let p = path;
  if (options.normalizePath) p = p.replace(ESCAPE, decodeUnreserved);
  if (options.mergeSlashes) p = p.replace(/\/{2,}/g, "/");
  return removeDotSegments(p);
}

/**
 * RFC 3986 §5.2.4 for an absolute path: `.` segments go, `..` removes the segment before it (none
 * above the root), and a path ending in a dot segment keeps its trailing slash.
 */
function removeDotSegments(path: string): string {
  if (!path.includes(".") && !/%2e/i.test(path)) return path;
  const segments = path.split("/");
  const out: string[] = [];
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i]!;
    const last = i === segments.length - 1;
    const dots = dotsOf(segment);
    if (dots === 0) {
      out.push(segment);
      continue;
    }
    if (dots === 2) out.pop();
    if (last) out.push("");
  }
  return `/${out.join("/")}`;
}

/** 1 for a `.` segment, 2 for `..`, 0 otherwise; `%2E` counts as a dot. */
function dotsOf(segment: string): number {
  if (segment.length === 0 || segment.length > 6) return 0;
  const plain = segment.replace(/%2e/gi, ".");
  return plain === "." ? 1 : plain === ".." ? 2 : 0;
}

function decodeUnreserved(escape: string, hex: string): string {
  const char = String.fromCharCode(parseInt(hex, 16));
  return UNRESERVED.test(char) ? char : escape.toUpperCase();
}

/** `http://host/path?query` → `/path?query`, when `host` names the same authority. */
function originFormOf(scheme: string, authority: string, rest: string, host: string | undefined): string {
  if (scheme !== "http" && scheme !== "https") throw malformed(`the edge serves http and https URLs, not ${scheme}:`);
  if (authority === "" || authority.includes("@")) {
    throw malformed("an absolute-form target needs a host and no user information (RFC 9110 §4.2.4)");
  }
  if (host === undefined || canonicalAuthority(authority, scheme) !== canonicalAuthority(host, scheme)) {
    throw malformed(`the request target names ${clip(authority)} but the Host header ${host === undefined ? "is missing" : `names ${clip(host)}`}`);
  }
  return rest.startsWith("/") ? rest : `/${rest}`;
}

/** Lower case, without the scheme's default port: `Example.com:80` and `example.com` agree for http. */
function canonicalAuthority(authority: string, scheme: string): string {
  const lower = authority.trim().toLowerCase();
  const defaultPort = scheme === "https" ? ":443" : ":80";
  return lower.endsWith(defaultPort) ? lower.slice(0, -defaultPort.length) : lower;
}

/** Enough of a hostile value to recognise it in an error message, not the whole of it. */
function clip(value: string): string {
  return value.length > 100 ? `${value.slice(0, 100)}…` : value;
}

function malformed(message: string): OnrampError {
  return new OnrampError(ErrorCode.MalformedRequest, message);
}
