/** What the balancer needs to know about a pool member; the edge attaches the rest. */
export interface MemberInfo {
  readonly id: string;
  /** Id of the edge the member's agent session is on; members on the picking edge come first. */
  readonly edge: string;
  /** Region of that edge; members in the picking edge's region come next. */
  readonly region: string;
  /**
   * Share of traffic relative to the other members, an integer from 1 to 1000. Default 1.
   * Integers keep weight arithmetic exact; 1000 leaves room for a 1:1000 split without letting a
   * single member's turn step shrink below float precision.
   */
  readonly weight?: number;
}

/**
 * How close a member is to the picking edge. 0: on this edge (no relay hop); 1: another edge in
 * the same region (one hop, short RTT); 2: another region. Traffic stays in the lowest tier that
 * is healthy enough and spills to the next as it degrades.
 */
export type Tier = 0 | 1 | 2;

export const TIERS: readonly Tier[] = [0, 1, 2];

export const DEFAULT_WEIGHT = 1;
export const MAX_WEIGHT = 1000;

/**
 * The tier of a member seen from the picking edge. With no `localEdge` no member is tier 0; with
 * no `localRegion` every member on another edge is tier 1 (one region, as a single-region mesh is).
 */
export function tierOf(member: MemberInfo, localEdge: string | undefined, localRegion: string | undefined): Tier {
  if (localEdge !== undefined && member.edge === localEdge) return 0;
  if (localRegion === undefined || member.region === localRegion) return 1;
  return 2;
}

/** The member's weight, defaulted and checked; throws naming the member on a bad value. */
export function weightOf(member: MemberInfo): number {
  const weight = member.weight ?? DEFAULT_WEIGHT;
  if (!Number.isInteger(weight) || weight < 1 || weight > MAX_WEIGHT) {
    throw new RangeError(`balancer member ${member.id}: weight must be an integer from 1 to ${MAX_WEIGHT}, got ${weight}`);
  }
  return weight;
}
