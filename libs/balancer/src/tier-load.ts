/**
 * How traffic is shared between tiers, after Envoy's priority levels
 * (https://www.envoyproxy.io/docs/envoy/latest/intro/arch_overview/upstream/load_balancing/priority).
 * Each tier has a health from 0 to 1; the nearest tier takes as much traffic as its health says
 * and the rest spills, tier by tier, to the ones behind it.
 */

/**
 * A tier's health: its usable share of weight, inflated by the overprovisioning factor and capped
 * at 1. An empty tier has health 0, so it never takes traffic.
 */
export function tierHealth(usableWeight: number, totalWeight: number, overprovisioning: number): number {
  if (totalWeight <= 0) return 0;
  return Math.min(1, (overprovisioning * usableWeight) / totalWeight);
}

/**
 * The share of traffic each tier takes, in tier order, summing to 1 (or all 0 when every health
 * is 0). Each tier takes what is left, up to its health; when the healths add up to less than 1
 * they are scaled up first, so a pool that is degraded everywhere still sends all of its traffic
 * somewhere rather than dropping the remainder (Envoy's "normalized total health").
 */
export function tierLoads(healths: readonly number[]): number[] {
  return tierLoadsInto(healths, new Array<number>(healths.length));
}

/** tierLoads() written into `out` (same length as `healths`), for callers that reuse one array per pick. */
export function tierLoadsInto(healths: ArrayLike<number>, out: number[]): number[] {
  let sum = 0;
  for (let i = 0; i < healths.length; i++) sum += healths[i]!;
  const total = Math.min(1, sum);
  let remaining = 1;
  for (let i = 0; i < healths.length; i++) {
    const load = total === 0 ? 0 : Math.min(remaining, healths[i]! / total);
    remaining -= load;
    out[i] = load;
  }
  return out;
}

/**
 * Index of the tier a request goes to, given the tier loads and a uniform `draw` in [0, 1).
 * Returns -1 when no tier takes traffic. Float rounding can leave the loads summing to a hair
 * under 1; a draw that lands in that gap goes to the last tier with any load.
 */
export function chooseTier(loads: readonly number[], draw: number): number {
  let last = -1;
  let cumulative = 0;
  for (let i = 0; i < loads.length; i++) {
    const load = loads[i]!;
    if (load <= 0) continue;
    cumulative += load;
    if (draw < cumulative) return i;
    last = i;
  }
  return last;
}
