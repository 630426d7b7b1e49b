/**
 * Power of two choices, weighted (Mitzenmacher, "The Power of Two Choices in Randomized Load
 * Balancing"): sample two members, send the request to the less loaded one. Two samples avoid
 * the herd that "least loaded of all" causes when many pickers see the same stale counts, and
 * cost O(n) rather than a sorted structure per pool.
 */

/** A member as two-choices sees it. */
export interface Contender {
  /** Integer from 1 to 1000; sampling and load comparison are both relative to it. */
  readonly weight: number;
  /** Requests this edge has in flight on the member. */
  readonly outstanding: number;
  /** Requests other edges report in flight on it. */
  readonly reportedLoad: number;
  /**
   * Virtual time of the member's next weighted turn (earliest deadline first, as Envoy's
   * weighted round robin): each pick moves it on by 1/weight, so under sequential load — where
   * every comparison is a tie at zero outstanding — a 3:1 weighting still gives a 3:1 share.
   */
  readonly turn: number;
  /** Sequence number of the member's last pick; 0 if never. The final tie-break. */
  readonly lastPicked: number;
}

/**
 * Chooses one of `candidates` (non-empty): two distinct members sampled in proportion to weight,
 * the one with less load per unit of weight wins. Ties go to the earlier weighted turn
 * (`clock` is the virtual time of the last pick: a turn left behind it counts as now, so a member
 * back from an ejection does not win every tie until it has caught up), then to the member
 * picked least recently — so an idle pool of equal members alternates evenly.
 */
export function chooseOfTwo<C extends Contender>(candidates: readonly C[], clock: number, random: () => number): C {
  if (candidates.length === 1) return candidates[0]!;
  let totalWeight = 0;
  for (const c of candidates) totalWeight += c.weight;
  const first = sampleByWeight(candidates, totalWeight, undefined, random);
  const second = sampleByWeight(candidates, totalWeight - first.weight, first, random);
  return compare(first, second, clock) <= 0 ? first : second;
}

/** Negative when `a` should win over `b`, positive when `b` should, 0 when they are alike. */
export function compare(a: Contender, b: Contender, clock: number): number {
  // (loadA / weightA) vs (loadB / weightB), cross-multiplied so equal ratios compare equal exactly.
  const byLoad = (a.outstanding + a.reportedLoad) * b.weight - (b.outstanding + b.reportedLoad) * a.weight;
  if (byLoad !== 0) return byLoad;
  const byTurn = Math.max(a.turn, clock) - Math.max(b.turn, clock);
  if (byTurn !== 0) return byTurn;
  return a.lastPicked - b.lastPicked;
}

/** One candidate drawn with probability weight / `totalWeight`, never `skip`. */
function sampleByWeight<C extends Contender>(candidates: readonly C[], totalWeight: number, skip: C | undefined, random: () => number): C {
  let draw = random() * totalWeight;
  let last: C | undefined;
  for (const c of candidates) {
    if (c === skip) continue;
    if (draw < c.weight) return c;
    draw -= c.weight;
    last = c;
  }
  // Only reached when float rounding leaves `draw` a hair above the last weight.
  return last!;
}
