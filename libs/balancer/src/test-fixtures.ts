import type { MemberInfo } from "./member.js";
import type { PickResult } from "./pick-result.js";
import type { Pool } from "./pool.js";

/** mulberry32: a tiny seeded PRNG, so picks that draw random numbers are the same on every run. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function member(id: string, edge = "edge-1", region = "eu", weight?: number): MemberInfo {
  return weight === undefined ? { id, edge, region } : { id, edge, region, weight };
}

/**
 * Picks `n` times and counts picks per member id. Requests are released at once (sequential
 * load) unless `hold` is set, in which case every pick stays outstanding (concurrent load).
 * Throws on a result other than a pick, so a test fails loudly instead of counting nothing.
 */
export function countPicks(pool: Pool<MemberInfo>, n: number, options: { hold?: boolean; exclude?: ReadonlySet<string>; now?: number } = {}): Record<string, number> {
  const seen: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const result = expectPick(pool.pick(options.exclude, options.now ?? 0));
    seen[result.member.id] = (seen[result.member.id] ?? 0) + 1;
    if (!options.hold) result.release();
  }
  return seen;
}

/** Fractions of `counts` per key, for comparing shares with expected loads. */
export function fractions(counts: Record<string, number>, keys: readonly string[]): number[] {
  const total = Object.values(counts).reduce((sum, n) => sum + n, 0);
  return keys.map((key) => (counts[key] ?? 0) / total);
}

/** The pick in `result`, or a thrown error saying what came instead. */
export function expectPick<M>(result: PickResult<M>): Extract<PickResult<M>, { kind: "pick" }> {
  if (result.kind !== "pick") throw new Error(`expected a pick, got ${result.kind}: ${result.reason}`);
  return result;
}
