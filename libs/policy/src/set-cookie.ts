import type { ReflectMessage } from "@bufbuild/protobuf/reflect";
import { celDuration, celTimestamp } from "./cel-time.js";

/**
 * `res.cookies[name][i]` and `getResCookie(name)`: one `Set-Cookie` header, with the fields ngrok
 * gives it. ngrok is written in Go and its fields follow Go's `net/http` cookie parser, whose rules
 * this repeats: a missing `Expires` is the zero time (0001-01-01T00:00:00Z), a missing `Max-Age`
 * is 0s and a `Max-Age` of 0 or less (delete now) is -1s.
 */
// A type rather than an interface: CEL values must be assignable to an index signature.
export type ResponseCookie = {
  readonly name: string;
  readonly value: string;
  readonly path: string;
  readonly domain: string;
  readonly expires: ReflectMessage;
  readonly max_age: ReflectMessage;
  readonly secure: boolean;
  readonly http_only: boolean;
  /** `Strict`, `Lax` or `None`; empty without the attribute or with an unknown value. */
  readonly same_site: string;
  /** Attributes the parser does not know (`Priority=High`, `Partitioned`), by name as written. */
  readonly unparsed_attributes: Map<string, string>;
};

/** Go's zero `time.Time`, which is also the smallest timestamp CEL allows. */
const ZERO_TIME_MS = -62135596800000;

const SAME_SITE: Readonly<Record<string, string>> = { strict: "Strict", lax: "Lax", none: "None" };

function unquote(value: string): string {
  return value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
}

/** The cookie a `Set-Cookie` header sets, or undefined when it has no `name=`. */
export function parseSetCookie(header: string): ResponseCookie | undefined {
  const [pair = "", ...attributes] = header.split(";");
  const eq = pair.indexOf("=");
  if (eq <= 0) return undefined;
  const name = pair.slice(0, eq).trim();
  if (name === "") return undefined;
  let path = "";
  let domain = "";
  let expiresMs = ZERO_TIME_MS;
  let maxAgeSeconds = 0;
  let secure = false;
  let httpOnly = false;
  let sameSite = "";
  const unparsed = new Map<string, string>();
  for (const attribute of attributes) {
    const i = attribute.indexOf("=");
    const key = (i < 0 ? attribute : attribute.slice(0, i)).trim();
    const value = i < 0 ? "" : attribute.slice(i + 1).trim();
    if (key === "") continue;
    switch (key.toLowerCase()) {
      case "path":
        path = value;
        break;
      case "domain":
        domain = value;
        break;
      case "secure":
        secure = true;
        break;
      case "httponly":
        httpOnly = true;
        break;
      case "samesite":
        sameSite = SAME_SITE[value.toLowerCase()] ?? "";
        break;
      case "max-age": {
        // As Go: digits with an optional sign and no leading zero; anything else is ignored.
        if (!/^-?\d+$/.test(value) || (value !== "0" && value.startsWith("0"))) break;
        const seconds = Number(value);
        maxAgeSeconds = seconds <= 0 ? -1 : seconds;
        break;
      }
      case "expires": {
        const ms = Date.parse(value);
        if (Number.isFinite(ms) && ms >= ZERO_TIME_MS) expiresMs = ms;
        break;
      }
      default:
        unparsed.set(key, unquote(value));
    }
  }
  return {
    name,
    value: unquote(pair.slice(eq + 1).trim()),
    path,
    domain,
    expires: celTimestamp(expiresMs),
    max_age: celDuration(maxAgeSeconds * 1000),
    secure,
    http_only: httpOnly,
    same_site: sameSite,
    unparsed_attributes: unparsed,
  };
}

/** What `getResCookie` returns for a cookie the response does not set: its name and empty fields. */
export function missingCookie(name: string): ResponseCookie {
  return {
    name,
    value: "",
    path: "",
    domain: "",
    expires: celTimestamp(ZERO_TIME_MS),
    max_age: celDuration(0),
    secure: false,
    http_only: false,
    same_site: "",
    unparsed_attributes: new Map(),
  };
}

/**
 * The cookies of a response's `Set-Cookie` headers by name; as in ngrok, cookies with the same name
 * are ordered by path length, the longest first (so `[0]` is the most specific).
 */
export function parseSetCookies(headers: readonly string[]): Map<string, ResponseCookie[]> {
  const cookies = new Map<string, ResponseCookie[]>();
  for (const header of headers) {
    const cookie = parseSetCookie(header);
    if (!cookie) continue;
    const list = cookies.get(cookie.name);
    if (list) list.push(cookie);
    else cookies.set(cookie.name, [cookie]);
  }
  for (const list of cookies.values()) if (list.length > 1) list.sort((a, b) => b.path.length - a.path.length);
  return cookies;
}
