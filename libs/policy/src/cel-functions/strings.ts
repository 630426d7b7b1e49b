import { type CelList, celList } from "@bufbuild/cel";
import { cidrContains, parseCidr, parseIp } from "../cidr.js";
import { addWork, checkString, outputTooBig, MAX_LIST_SIZE } from "./limits.js";

/**
 * String helpers of ngrok's reference that the strings extension lacks: Unicode `lower()` and
 * `upper()` (Go's `strings.ToLower`/`ToUpper`: one code point for one), `reverse()`,
 * `isPrivateIp()` and the argument-less `split()` (Go's `strings.Fields`).
 */

/** `s` with every `from` replaced by `to`, charged by the occurrence (~30 ns each). */
function swap(s: string, from: string, to: string): string {
  if (!s.includes(from)) return s;
  const parts = s.split(from);
  addWork(parts.length);
  return parts.join(to);
}

/** `string.lower()`: Unicode lower case, one code point for one, as Go's `strings.ToLower`. */
export function lower(s: string): string {
  checkString("string.lower", s);
  // JS's toLowerCase maps a final Σ to ς and İ to i and a combining dot; Go maps them to σ and i.
  // Everything else JS maps one code point for one, as Go does.
  return swap(swap(s, "\u03a3", "\u03c3"), "\u0130", "i").toLowerCase();
}

/**
 * The BMP characters JS upper-cases to more than one (ß → SS, ﬁ → FI, ᾳ → ΑΙ...): Go, mapping one
 * code point for one, leaves them, or (the Greek ones with ypogegrammeni) gives their titlecase
 * form. Found by scanning the BMP once (~5 ms), the first time a string needs it.
 */
let expanding: RegExp | undefined;

function expandingUpper(): RegExp {
  if (expanding === undefined) {
    let cls = "";
    for (let c = 0x80; c < 0x10000; c++) {
      if (c >= 0xd800 && c <= 0xdfff) continue;
      const ch = String.fromCharCode(c);
      if (ch.toUpperCase().length > 1) cls += `\\u${c.toString(16).padStart(4, "0")}`;
    }
    expanding = new RegExp(`([${cls}])`);
  }
  return expanding;
}

/** Go's `unicode.ToUpper` of a character JS expands. */
function simpleUpper(c: string): string {
  const u = c.charCodeAt(0);
  if ((u >= 0x1f80 && u <= 0x1f87) || (u >= 0x1f90 && u <= 0x1f97) || (u >= 0x1fa0 && u <= 0x1fa7)) return String.fromCharCode(u + 8);
  if (u === 0x1fb3 || u === 0x1fc3 || u === 0x1ff3) return String.fromCharCode(u + 9);
  return c;
}

/** `string.upper()`: Unicode upper case, one code point for one, as Go's `strings.ToUpper`. */
export function upper(s: string): string {
  checkString("string.upper", s);
  const full = s.toUpperCase();
  // Every mapping of one code point to several lengthens the string; none shortens it.
  if (full.length === s.length) return full;
  const parts = s.split(expandingUpper());
  addWork(parts.length * 5); // ~100-150 ns a part, in JS rather than in one native call
  for (let i = 0; i < parts.length; i++) parts[i] = i % 2 === 0 ? parts[i]!.toUpperCase() : simpleUpper(parts[i]!);
  return parts.join("");
}

/** `string.reverse()`: the code points in reverse order (surrogate pairs kept together). */
export function reverse(s: string): string {
  checkString("string.reverse", s);
  const n = s.length;
  const out = new Uint16Array(n);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    const d = i + 1 < n ? s.charCodeAt(i + 1) : 0;
    if (c >= 0xd800 && c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
      out[n - i - 2] = c; // a surrogate pair stays in order
      out[n - i - 1] = d;
      i++;
    } else {
      out[n - i - 1] = c;
    }
  }
  return Buffer.from(out.buffer, 0, n * 2).toString("utf16le");
}

// Go's unicode.IsSpace: JS's \s also has U+FEFF, and lacks U+0085.
const WHITE_SPACE = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

/** `string.split()` with no separator: the runs of non-whitespace, as Go's `strings.Fields`. */
export function fields(s: string): CelList {
  checkString("string.split", s);
  const parts = s.split(WHITE_SPACE);
  addWork(parts.length * 5); // ~100 ns a part
  const out = parts.filter((x) => x !== "");
  if (out.length > MAX_LIST_SIZE) throw outputTooBig("string.split");
  return celList(out);
}

const PRIVATE = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"].map((c) => parseCidr(c)!);

/**
 * `string.isPrivateIp()`: whether the string is an IP address in an RFC 1918 range (10/8,
 * 172.16/12, 192.168/16) or, as Go's `net.IP.IsPrivate`, an RFC 4193 IPv6 unique local address
 * (fc00::/7). IPv4-mapped IPv6 (`::ffff:10.0.0.1`) counts as IPv4. Anything not an IP is false.
 */
export function isPrivateIp(s: string): boolean {
  checkString("string.isPrivateIp", s);
  if (s.length > 64 || s.includes("%") || s.includes("[")) return false; // no zones or brackets, as net.ParseIP
  const ip = parseIp(s);
  return ip !== undefined && PRIVATE.some((c) => cidrContains(c, ip));
}
