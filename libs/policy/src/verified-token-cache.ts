import type { JWTPayload, ProtectedHeaderParameters } from "jose";

interface Verified {
  readonly payload: JWTPayload;
  readonly header: ProtectedHeaderParameters;
  readonly generation: number;
  readonly notBeforeMs: number;
  readonly expiresAtMs: number;
}

/**
 * Tokens whose signature and fixed claims (issuer, audience, algorithm) one `jwt-validation`
 * action has already verified, keyed by the exact token string. A signature check is an RSA or
 * ECDSA verification (~125 µs for RS256 here) and clients send the same token on every request,
 * so a hit saves most of the action's cost. Only the time-dependent claims are checked again;
 * entries die at `exp`, after `ttlMs`, and whenever the key sets change (rotation).
 */
export class VerifiedTokenCache {
  private readonly entries = new Map<string, Verified>();

  /**
   * @param maxEntries 10,000: bounds memory (~1 KB each) while covering the active clients of a
   *   busy endpoint; the oldest entry goes first.
   * @param ttlMs 5 min: how long a verification is trusted before the signature is checked again.
   */
  constructor(
    private readonly maxEntries = 10_000,
    private readonly ttlMs = 5 * 60_000,
  ) {}

  get(token: string, generation: number, nowMs: number): Verified | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    if (entry.generation !== generation || nowMs >= entry.expiresAtMs || nowMs < entry.notBeforeMs) {
      this.entries.delete(token);
      return undefined;
    }
    return entry;
  }

  set(token: string, payload: JWTPayload, header: ProtectedHeaderParameters, generation: number, nowMs: number): void {
    const exp = typeof payload.exp === "number" ? payload.exp * 1000 : Number.POSITIVE_INFINITY;
    const expiresAtMs = Math.min(exp, nowMs + this.ttlMs);
    if (expiresAtMs <= nowMs) return;
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    const notBeforeMs = typeof payload.nbf === "number" ? payload.nbf * 1000 : Number.NEGATIVE_INFINITY;
    this.entries.set(token, { payload, header, generation, notBeforeMs, expiresAtMs });
  }
}
