import type { JWTPayload, ProtectedHeaderParameters } from "jose";

interface Verified {
  /** The whole token: a hit compares it, so tokens sharing a key never stand in for each other. */
  readonly token: string;
  /** What else the verification held for (the issuers it was checked against); "" for none. */
  readonly scope: string;
  readonly payload: JWTPayload;
  readonly header: ProtectedHeaderParameters;
  /** The token's signature part (after its last "."), for `actions.ngrok.jwt_validation`. */
  readonly signature: string;
  readonly generation: number;
  readonly notBeforeMs: number;
  readonly expiresAtMs: number;
}

/**
 * 24 characters: the tail of a JWS is its signature, which is as good as random (RSA, ECDSA,
 * EdDSA, HMAC), so 24 base64url characters (144 bits) keep two live tokens from sharing a key.
 */
const KEY_CHARS = 24;

/**
 * The key of `token` in the cache: a 32-bit hash of its last `KEY_CHARS` characters. Hashing a
 * whole token (~700 characters) for a Map lookup cost ~1 µs per request at the edge; this reads
 * 24, and a hit then compares the whole token once, which is a memory compare.
 */
function keyOf(token: string): number {
  let h = 0x811c9dc5;
  for (let i = Math.max(0, token.length - KEY_CHARS); i < token.length; i++) h = Math.imul(h ^ token.charCodeAt(i), 0x01000193);
  return h | 0;
}

/**
 * Tokens whose signature and fixed claims (issuer, audience, algorithm) one `jwt-validation`
 * action has already verified. A signature check is an RSA or ECDSA verification (~125 µs for
 * RS256 here) and clients send the same token on every request, so a hit saves most of the
 * action's cost. Only the time-dependent claims are checked again; entries die at `exp`, after
 * `ttlMs`, and whenever the key sets change (rotation).
 *
 * Keyed by a hash of the token's tail, and an entry answers only for its exact token and scope:
 * a token whose key is another's (a forged tail, a hash collision) is a miss, verified in full,
 * and does not evict the other unless it verifies.
 */
export class VerifiedTokenCache {
  private readonly entries = new Map<number, Verified>();

  /**
   * @param maxEntries 10,000: bounds memory (~1 KB each) while covering the active clients of a
   *   busy endpoint; the oldest entry goes first.
   * @param ttlMs 5 min: how long a verification is trusted before the signature is checked again.
   */
  constructor(
    private readonly maxEntries = 10_000,
    private readonly ttlMs = 5 * 60_000,
  ) {}

  /** Number of tokens held. */
  get size(): number {
    return this.entries.size;
  }

  /** The verification of `token` for `scope` ("" when the action has fixed issuers), if it still holds. */
  get(token: string, scope: string, generation: number, nowMs: number): Verified | undefined {
    const key = keyOf(token);
    const entry = this.entries.get(key);
    if (entry === undefined || entry.token !== token || entry.scope !== scope) return undefined;
    if (entry.generation !== generation || nowMs >= entry.expiresAtMs || nowMs < entry.notBeforeMs) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  set(token: string, scope: string, payload: JWTPayload, header: ProtectedHeaderParameters, generation: number, nowMs: number): void {
    const exp = typeof payload.exp === "number" ? payload.exp * 1000 : Number.POSITIVE_INFINITY;
    const expiresAtMs = Math.min(exp, nowMs + this.ttlMs);
    if (expiresAtMs <= nowMs) return;
    const key = keyOf(token);
    // A token taking another's key goes to the end, as a new entry would.
    if (!this.entries.delete(key) && this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    const notBeforeMs = typeof payload.nbf === "number" ? payload.nbf * 1000 : Number.NEGATIVE_INFINITY;
    const signature = token.slice(token.lastIndexOf(".") + 1);
    this.entries.set(key, { token, scope, payload, header, signature, generation, notBeforeMs, expiresAtMs });
  }
}
