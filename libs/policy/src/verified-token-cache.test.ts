import { describe, expect, it } from "vitest";
import { VerifiedTokenCache } from "./verified-token-cache.js";

const NOW = Date.UTC(2026, 0, 1, 12);
const header = { alg: "RS256", kid: "k1" };
/** A token-shaped string: three base64url parts, the last one the signature. */
const token = (body: string, signature: string) => `eyJhbGciOiJSUzI1NiJ9.${body}.${signature}`;
const SIGNATURE = "W9IifP6tDr2HgnoB9qpATGu70CwAqRrOtRQAR-J-WKJ849iPz7gBb0aUUhHQt-rZcfsP3G7IeNhGEEOw0BQ_2steetdnc3Q";

describe("verified token cache", () => {
  it("never answers for a token that merely shares another's tail", () => {
    const cache = new VerifiedTokenCache();
    const alice = token("eyJzdWIiOiJhbGljZSJ9", SIGNATURE);
    const mallory = token("eyJzdWIiOiJtYWxsb3J5In0", SIGNATURE);
    cache.set(alice, "", { sub: "alice", exp: NOW / 1000 + 60 }, header, 1, NOW);
    expect(cache.get(alice, "", 1, NOW)?.payload.sub).toBe("alice");
    expect(cache.get(mallory, "", 1, NOW)).toBeUndefined();
    // The miss does not evict the other token's verification.
    expect(cache.get(alice, "", 1, NOW)?.payload.sub).toBe("alice");
    // A token verified in its own right takes the key over; the other is then a miss, not a wrong hit.
    cache.set(mallory, "", { sub: "mallory", exp: NOW / 1000 + 60 }, header, 1, NOW);
    expect(cache.get(mallory, "", 1, NOW)?.payload.sub).toBe("mallory");
    expect(cache.get(alice, "", 1, NOW)).toBeUndefined();
    expect(cache.size).toBe(1);
  });

  it("holds a verification only for the issuers it was checked against", () => {
    const cache = new VerifiedTokenCache();
    const t = token("eyJzdWIiOiJhbGljZSJ9", SIGNATURE);
    cache.set(t, "https://a.example\n\n", { sub: "alice" }, header, 1, NOW);
    expect(cache.get(t, "https://a.example\n\n", 1, NOW)).toBeDefined();
    expect(cache.get(t, "https://b.example\n\n", 1, NOW)).toBeUndefined();
    expect(cache.get(t, "", 1, NOW)).toBeUndefined();
  });

  it("checks exp, nbf, the TTL and key rotation again on every hit", () => {
    const cache = new VerifiedTokenCache(10, 60_000);
    const t = token("eyJzdWIiOiJhbGljZSJ9", SIGNATURE);
    const nowSec = NOW / 1000;
    cache.set(t, "", { exp: nowSec + 30, nbf: nowSec + 5 }, header, 1, NOW);
    expect(cache.get(t, "", 1, NOW)).toBeUndefined(); // not yet valid (and dropped: verified again when it is)
    cache.set(t, "", { exp: nowSec + 30, nbf: nowSec + 5 }, header, 1, NOW);
    expect(cache.get(t, "", 1, NOW + 5_000)?.signature).toBe(SIGNATURE);
    expect(cache.get(t, "", 2, NOW + 5_000)).toBeUndefined(); // the key sets changed
    cache.set(t, "", { exp: nowSec + 30 }, header, 1, NOW);
    expect(cache.get(t, "", 1, NOW + 30_000)).toBeUndefined(); // expired
    cache.set(t, "", {}, header, 1, NOW);
    expect(cache.get(t, "", 1, NOW + 59_999)).toBeDefined();
    expect(cache.get(t, "", 1, NOW + 60_000)).toBeUndefined(); // past the TTL
  });

  it("keeps at most maxEntries tokens, dropping the oldest", () => {
    const cache = new VerifiedTokenCache(3);
    const tokens = Array.from({ length: 5 }, (_, i) => token(`body${i}`, `${SIGNATURE}${i}`));
    for (const t of tokens) cache.set(t, "", {}, header, 1, NOW);
    expect(cache.size).toBe(3);
    expect(tokens.map((t) => cache.get(t, "", 1, NOW) !== undefined)).toEqual([false, false, true, true, true]);
  });
});
