import type { MemberInfo, Tier } from "./member.js";
import type { Contender } from "./two-choices.js";

/** What a pool knows about one member beyond its info: the member's state and its load. */
export interface MemberState<M extends MemberInfo> extends Contender {
  member: M;
  weight: number;
  tier: Tier;
  outstanding: number;
  reportedLoad: number;
  /** Result of the agent's active health check. */
  healthy: boolean;
  /** False while the member has no usable connection (e.g. the relay to its edge is connecting). */
  ready: boolean;
  /** Leaving by intent: takes no new requests, not even in panic. */
  draining: boolean;
  turn: number;
  lastPicked: number;
  /** Picks so far, for metrics. */
  picks: number;
}

/** One member as the admin API and metrics see it. */
export interface MemberSnapshot {
  readonly id: string;
  readonly edge: string;
  readonly region: string;
  readonly weight: number;
  readonly tier: Tier;
  readonly healthy: boolean;
  readonly ready: boolean;
  readonly draining: boolean;
  /** When an ejection by the outlier detector ends (ms, the caller's clock); undefined if not ejected. */
  readonly ejectedUntil: number | undefined;
  /** Requests this edge has in flight on the member. */
  readonly outstanding: number;
  /** Requests other edges report in flight on it. */
  readonly reportedLoad: number;
  readonly picks: number;
}

/**
 * A new member's state: healthy and ready until told otherwise (a member is added when its
 * agent binds, which it does once it can serve). Its first weighted turn is one step after
 * `clock`, so it joins the rotation where the others are instead of winning every tie until it
 * has caught up with their pick counts.
 */
export function createMemberState<M extends MemberInfo>(member: M, weight: number, tier: Tier, clock: number): MemberState<M> {
  return {
    member,
    weight,
    tier,
    outstanding: 0,
    reportedLoad: 0,
    healthy: true,
    ready: true,
    draining: false,
    turn: clock + 1 / weight,
    lastPicked: 0,
    picks: 0,
  };
}

export function snapshotOf(state: MemberState<MemberInfo>, ejectedUntil: number | undefined): MemberSnapshot {
  const { member } = state;
  return {
    id: member.id,
    edge: member.edge,
    region: member.region,
    weight: state.weight,
    tier: state.tier,
    healthy: state.healthy,
    ready: state.ready,
    draining: state.draining,
    ejectedUntil,
    outstanding: state.outstanding,
    reportedLoad: state.reportedLoad,
    picks: state.picks,
  };
}
