import { type CelMap, type CelValue, isCelList, isCelUint } from "@bufbuild/cel";
import {
  addWork,
  CelFunctionLimitError,
  checkMap,
  checkString,
  checkText,
  elementsOf,
  MAX_LIST_SIZE,
  MAX_STRING_LENGTH,
  outputTooLong,
  VisitCounter,
} from "./limits.js";
import { utf8 } from "./hash.js";

/**
 * Base64, HTTP Basic credentials, percent-encoding, query strings and URLs, with Go's semantics
 * (ngrok's engine is cel-go): base64 is the standard alphabet with padding, `url.escape` is
 * `url.QueryEscape`, query strings follow `url.ParseQuery` and `url.Values.Encode`.
 */

const decoder = new TextDecoder(); // invalid UTF-8 becomes U+FFFD; CEL strings are Unicode

// ---- base64 -----------------------------------------------------------------------------------

const B64_VALID = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Standard base64 with padding, strictly as Go's `base64.StdEncoding.DecodeString`: the length must
 * be a multiple of 4 and `=` only at the end ('aGVsbG8' is an error). Go skips CR and LF.
 */
export function base64Decode(text: string, fn = "base64.decode"): Uint8Array {
  checkString(fn, text);
  const s = text.includes("\n") || text.includes("\r") ? text.replace(/[\r\n]/g, "") : text;
  if (s.length % 4 !== 0 || !B64_VALID.test(s)) {
    throw new Error(`${fn}: illegal base64 data (standard alphabet, padded with '=')`);
  }
  const out = Buffer.from(s, "base64");
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

export function base64Encode(data: string | Uint8Array, fn = "base64.encode"): string {
  const b = utf8(checkText(fn, data));
  // 4 characters for every 3 bytes: a 1 MiB input gives a 1.33 MiB result, allowed.
  return Buffer.from(b.buffer, b.byteOffset, b.length).toString("base64");
}

/** `string.decodeBase64()`: base64Decode, read as UTF-8. */
export function base64DecodeToString(text: string, fn = "string.decodeBase64"): string {
  return decoder.decode(base64Decode(text, fn));
}

/** `basic_auth.encode(user, password)`: `Basic ` and base64 of `user:password`. */
export function basicAuthEncode(user: string, password: string): string {
  checkString("basic_auth.encode", user, "username");
  checkString("basic_auth.encode", password, "password");
  return `Basic ${Buffer.from(`${user}:${password}`, "utf8").toString("base64")}`;
}

// ---- percent-encoding, as Go's url.QueryEscape / url.QueryUnescape --------------------------------

const HEX = "0123456789ABCDEF";
const UNRESERVED = (() => {
  const t = new Uint8Array(128);
  for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~") t[c.charCodeAt(0)] = 1;
  return t;
})();

/** Go's `url.QueryEscape`: all but `A-Za-z0-9-_.~` percent-encoded as UTF-8, space as `+`. */
export function queryEscape(text: string, fn = "url.escape"): string {
  checkString(fn, text);
  const b = utf8(text);
  let n = 0;
  for (let i = 0; i < b.length; i++) {
    const x = b[i]!;
    n += x < 128 && (UNRESERVED[x] || x === 0x20) ? 1 : 3;
  }
  if (n > MAX_STRING_LENGTH) throw outputTooLong(fn);
  if (n === b.length && !text.includes(" ")) return text;
  const out = new Uint8Array(n);
  let o = 0;
  for (let i = 0; i < b.length; i++) {
    const x = b[i]!;
    if (x < 128 && UNRESERVED[x]) out[o++] = x;
    else if (x === 0x20) out[o++] = 0x2b;
    else {
      out[o++] = 0x25;
      out[o++] = HEX.charCodeAt(x >> 4);
      out[o++] = HEX.charCodeAt(x & 15);
    }
  }
  return Buffer.from(out.buffer, 0, n).toString("latin1");
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** Go's `url.QueryUnescape`: `%XX` to bytes, `+` to space; a malformed escape is an error. */
export function queryUnescape(text: string, fn = "url.unescape"): string {
  checkString(fn, text);
  if (!text.includes("%") && !text.includes("+")) return text;
  const b = utf8(text);
  const out = new Uint8Array(b.length);
  let n = 0;
  for (let i = 0; i < b.length; i++) {
    const x = b[i]!;
    if (x === 0x25) {
      const hi = i + 2 < b.length ? hexValue(b[i + 1]!) : -1;
      const lo = hi >= 0 ? hexValue(b[i + 2]!) : -1;
      if (lo < 0) {
        const bad = decoder.decode(b.subarray(i, Math.min(i + 3, b.length)));
        throw new Error(`${fn}: invalid URL escape ${JSON.stringify(bad)}`);
      }
      out[n++] = (hi << 4) | lo;
      i += 2;
    } else {
      out[n++] = x === 0x2b ? 0x20 : x;
    }
  }
  return decoder.decode(out.subarray(0, n));
}

// ---- query strings ----------------------------------------------------------------------------

/**
 * Go's `url.ParseQuery`, each key mapped to its FIRST value (`url.Values.Get`): ngrok's examples
 * read `queryString.decode(q)["q"] == "hello"`, a string, not a list. `&` separates pairs; a
 * semicolon, or a malformed escape, is an error, as in Go; empty pairs are skipped.
 */
export function queryStringDecode(text: string, fn = "queryString.decode"): Map<string, string> {
  checkString(fn, text);
  const out = new Map<string, string>();
  if (text === "") return out;
  const pairs = text.split("&");
  addWork(pairs.length * 10); // ~300 ns a pair, and the result map's size says nothing of repeated keys
  for (const pair of pairs) {
    if (pair === "") continue;
    if (pair.includes(";")) throw new Error(`${fn}: invalid semicolon separator in query`);
    const eq = pair.indexOf("=");
    const key = queryUnescape(eq < 0 ? pair : pair.slice(0, eq), fn);
    const value = eq < 0 ? "" : queryUnescape(pair.slice(eq + 1), fn);
    if (!out.has(key)) {
      if (out.size === MAX_LIST_SIZE) throw new CelFunctionLimitError(`${fn}: more than ${MAX_LIST_SIZE.toLocaleString("en-US")} distinct keys`);
      out.set(key, value);
    }
  }
  return out;
}

const PAIR = /^[^=&\s]+=[^&\s]*$/;

/**
 * `string.isQueryString()`: true when the string is one or more `&`-separated `key=value` pairs
 * with non-empty keys, no whitespace, and well-formed escapes, so `'not a query string'` is false.
 */
export function isQueryString(text: string): boolean {
  checkString("string.isQueryString", text);
  if (text === "") return false;
  const pairs = text.split("&");
  addWork(pairs.length * 3); // ~100 ns a pair for the pattern test
  for (const pair of pairs) {
    if (!PAIR.test(pair) || pair.includes(";")) return false;
  }
  try {
    queryStringDecode(text, "string.isQueryString");
    return true;
  } catch {
    return false;
  }
}

function scalarText(fn: string, v: CelValue): string {
  if (typeof v === "string") return v;
  if (typeof v === "bigint" || typeof v === "boolean" || typeof v === "number") return String(v);
  if (isCelUint(v)) return String(v.value);
  if (v instanceof Uint8Array) return decoder.decode(v);
  if (v === null) return "";
  throw new Error(`${fn}: values must be strings, numbers, booleans or lists of them`);
}

/**
 * Go's `url.Values.Encode`: pairs sorted by key, keys and values QueryEscaped, joined with `&`.
 * A list value repeats its key once per element; other values are written as text.
 */
export function queryStringEncode(map: CelMap, fn = "queryString.encode"): string {
  checkMap(fn, map);
  const visits = new VisitCounter(fn);
  const entries: Array<readonly [string, CelValue]> = [];
  for (const [k, v] of map) entries.push([scalarText(fn, k as CelValue), v]);
  entries.sort((a, b) => compareCodePoints(a[0], b[0]));
  let length = 0;
  const parts: string[] = [];
  const push = (s: string): void => {
    length += s.length + 1;
    if (length > MAX_STRING_LENGTH + 1) throw outputTooLong(fn);
    parts.push(s);
  };
  for (const [key, value] of entries) {
    checkString(fn, key, "a key");
    const k = queryEscape(key, fn);
    const values = isCelList(value) ? elementsOf(value) : [value];
    visits.visit(values.length);
    for (const v of values) push(`${k}=${queryEscape(checkString(fn, scalarText(fn, v), "a value"), fn)}`);
  }
  return parts.join("&");
}

/**
 * Orders strings by Unicode code point, as Go compares UTF-8 strings. JS `<` compares UTF-16 code
 * units, which puts U+10000 and above (surrogate pairs, 0xD800-0xDFFF) before U+E000-U+FFFF.
 */
export function compareCodePoints(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

function codePointRank(unit: number): number {
  if (unit < 0xd800) return unit;
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}

// ---- URLs -------------------------------------------------------------------------------------

const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;
const CONTROL = /[\x00-\x1f\x7f]/; // Go refuses control characters in URLs

/** The parts `url.parse` returns; every key is always present, "" when the URL has no such part. */
export interface UrlParts {
  scheme: string;
  opaque: string;
  user: string;
  password: string;
  host: string;
  hostname: string;
  port: string;
  path: string;
  raw_path: string;
  raw_query: string;
  fragment: string;
}

function unescapePart(fn: string, s: string): string {
  if (!s.includes("%")) return s;
  return queryUnescape(s.replace(/\+/g, "%2B"), fn);
}

/**
 * Go's `url.Parse` (RFC 3986), as a map of its parts: the scheme (lower-cased), the authority
 * split into user, password, host (with port), hostname and port, the path (unescaped, and raw),
 * the raw query and the fragment (unescaped). Relative references parse too (`/a?b`).
 */
export function parseUrl(text: string, fn = "url.parse"): UrlParts {
  checkString(fn, text);
  if (CONTROL.test(text)) throw new Error(`${fn}: invalid control character in URL`);
  const parts: UrlParts = { scheme: "", opaque: "", user: "", password: "", host: "", hostname: "", port: "", path: "", raw_path: "", raw_query: "", fragment: "" };
  let rest = text;
  const hash = rest.indexOf("#");
  if (hash >= 0) {
    parts.fragment = unescapePart(fn, rest.slice(hash + 1));
    rest = rest.slice(0, hash);
  }
  const scheme = SCHEME.exec(rest);
  if (scheme) {
    parts.scheme = scheme[0].slice(0, -1).toLowerCase();
    rest = rest.slice(scheme[0].length);
  } else if (rest.startsWith(":")) {
    throw new Error(`${fn}: missing protocol scheme`);
  }
  const q = rest.indexOf("?");
  if (q >= 0) {
    parts.raw_query = rest.slice(q + 1);
    rest = rest.slice(0, q);
  }
  if (parts.scheme !== "" && !rest.startsWith("/")) {
    parts.opaque = rest;
    return parts;
  }
  if (parts.scheme === "") {
    const colon = rest.indexOf(":");
    const slash = rest.indexOf("/");
    if (colon >= 0 && (slash < 0 || colon < slash)) throw new Error(`${fn}: first path segment in URL cannot contain colon`);
  }
  if (rest.startsWith("//")) {
    const end = rest.indexOf("/", 2);
    const authority = end < 0 ? rest.slice(2) : rest.slice(2, end);
    rest = end < 0 ? "" : rest.slice(end);
    const at = authority.lastIndexOf("@");
    if (at >= 0) {
      const userinfo = authority.slice(0, at);
      const colon = userinfo.indexOf(":");
      parts.user = unescapePart(fn, colon < 0 ? userinfo : userinfo.slice(0, colon));
      parts.password = colon < 0 ? "" : unescapePart(fn, userinfo.slice(colon + 1));
    }
    const host = at >= 0 ? authority.slice(at + 1) : authority;
    let hostname = host;
    let port = "";
    if (host.startsWith("[")) {
      const close = host.indexOf("]");
      if (close < 0) throw new Error(`${fn}: missing ']' in host`);
      hostname = host.slice(1, close);
      const after = host.slice(close + 1);
      if (after !== "" && !after.startsWith(":")) throw new Error(`${fn}: invalid port ${JSON.stringify(after)} after host`);
      port = after.slice(1);
    } else {
      const colon = host.lastIndexOf(":");
      if (colon >= 0) {
        hostname = host.slice(0, colon);
        port = host.slice(colon + 1);
      }
    }
    if (!/^[0-9]*$/.test(port)) throw new Error(`${fn}: invalid port ${JSON.stringify(`:${port}`.slice(0, 40))} after host`);
    if (/[\s<>"{}|\\^`]/.test(hostname)) throw new Error(`${fn}: invalid character in host name`);
    parts.host = host;
    parts.hostname = unescapePart(fn, hostname);
    parts.port = port;
  }
  parts.path = unescapePart(fn, rest);
  parts.raw_path = rest;
  return parts;
}

const SPECIAL = new Set(["http", "https", "ws", "wss", "ftp"]);

/**
 * `string.isURL()`: true for an absolute URL: a scheme, and a host for the hierarchical schemes
 * (http, https, ws, wss, ftp), that `url.parse` accepts. `'not a url'` and `'/path'` are false.
 */
export function isUrl(text: string): boolean {
  checkString("string.isURL", text);
  let parts: UrlParts;
  try {
    parts = parseUrl(text, "string.isURL");
  } catch {
    return false;
  }
  if (parts.scheme === "") return false;
  if (SPECIAL.has(parts.scheme)) return parts.hostname !== "";
  return parts.opaque !== "" || parts.host !== "" || parts.path !== "";
}

