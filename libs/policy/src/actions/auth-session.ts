import { EncryptJWT, type JWTPayload, base64url, jwtDecrypt } from "jose";

/**
 * Sealed cookies of the `openid-connect` and `oauth` actions: JWE (`dir` + `A256GCM`) under a key
 * derived with HKDF-SHA256 from the runtime's session secret, so any edge holding the same secret
 * reads a cookie another edge wrote, and a client can neither read nor alter one.
 */

/** A logged-in user: what `actions.ngrok.oidc|oauth.*` shows and the cookie keeps between requests. */
export interface AuthSession extends JWTPayload {
  readonly kind: "session";
  /** The action's `auth_id`. */
  readonly aid: string;
  /** Issuer or provider plus client id: a cookie from another identity provider app is not accepted. */
  readonly fp: string;
  /** Session id (`identity.current_session_id`). */
  readonly sid: string;
  readonly sub: string;
  readonly email: string;
  readonly name: string;
  /** When the user logged in, ms since the epoch. */
  readonly created: number;
  /** Last time the cookie was re-stamped (idle timeout), ms. */
  readonly seen: number;
  /** Last time user info was fetched, ms. */
  readonly info: number;
  readonly idt?: string;
  readonly at?: string;
  readonly rt?: string;
}

/** The state of one login in flight, kept client-side between the redirect and the callback. */
export interface LoginFlow extends JWTPayload {
  readonly kind: "flow";
  readonly aid: string;
  readonly state: string;
  readonly nonce: string;
  readonly verifier: string;
  /** Where to send the user after the callback: a path (with query) on this endpoint. */
  readonly back: string;
  /** ms since the epoch after which the callback is refused. */
  readonly until: number;
}

const keys = new Map<string, Promise<Uint8Array>>();
const encoder = new TextEncoder();

/** The 256-bit cookie key for `secret`, derived once per secret. */
export function sessionKey(secret: string): Promise<Uint8Array> {
  let key = keys.get(secret);
  if (!key) {
    key = (async () => {
      const ikm = await crypto.subtle.importKey("raw", encoder.encode(secret), "HKDF", false, ["deriveBits"]);
      const bits = await crypto.subtle.deriveBits(
        { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(0), info: encoder.encode("onramp traffic-policy auth cookies v1") },
        ikm,
        256,
      );
      return new Uint8Array(bits);
    })();
    if (keys.size >= 8) keys.clear();
    keys.set(secret, key);
  }
  return key;
}

export async function seal(payload: AuthSession | LoginFlow, secret: string): Promise<string> {
  return new EncryptJWT(payload).setProtectedHeader({ alg: "dir", enc: "A256GCM" }).encrypt(await sessionKey(secret));
}

/** The payload of a sealed cookie, or undefined when it is missing, forged, altered or of another kind. */
export async function unseal<T extends AuthSession | LoginFlow>(token: string | undefined, secret: string, kind: T["kind"]): Promise<T | undefined> {
  if (!token) return undefined;
  try {
    const { payload } = await jwtDecrypt(token, await sessionKey(secret), { keyManagementAlgorithms: ["dir"], contentEncryptionAlgorithms: ["A256GCM"] });
    return payload["kind"] === kind ? (payload as T) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * 3,900 bytes: browsers keep cookies up to 4,096 bytes including name and attributes (RFC 6265
 * §6.1). Tokens are dropped (ID token first) from a session that would not fit.
 */
export const MAX_COOKIE_VALUE = 3900;

export async function sealSession(session: AuthSession, secret: string): Promise<string> {
  let s: AuthSession = session;
  let sealed = await seal(s, secret);
  for (const drop of ["idt", "rt", "at"] as const) {
    if (sealed.length <= MAX_COOKIE_VALUE) break;
    const { [drop]: _dropped, ...rest } = s;
    s = rest as AuthSession;
    sealed = await seal(s, secret);
  }
  return sealed;
}

export interface CookieAttributes {
  readonly secure: boolean;
  readonly domain: string | undefined;
  /** Seconds; 0 deletes the cookie. */
  readonly maxAge: number;
}

/** A `Set-Cookie` value: HttpOnly, `SameSite=Lax` (the IdP's redirect back is a top-level GET), Path=/. */
export function setCookie(name: string, value: string, a: CookieAttributes): string {
  const parts = [`${name}=${value}`, "Path=/", `Max-Age=${Math.max(0, Math.floor(a.maxAge))}`, "HttpOnly", "SameSite=Lax"];
  if (a.secure) parts.push("Secure");
  if (a.domain) parts.push(`Domain=${a.domain}`);
  return parts.join("; ");
}

/** A random URL-safe id (session ids). */
export function randomId(bytes = 16): string {
  return base64url.encode(crypto.getRandomValues(new Uint8Array(bytes)));
}
