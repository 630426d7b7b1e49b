import type { MemberSnapshot } from "@onramp/balancer";
import { POOL_MEMBER_STATES, type Census, type PoolMemberState } from "@onramp/telemetry";
import type { RoutingTable } from "./routing-table.js";

/**
 * The one state a member is counted in: the first that applies, from what takes it out of
 * rotation for longest (it is leaving) to what lets it back soonest (an ejection times out).
 */
export function memberStateOf(member: MemberSnapshot): PoolMemberState {
  if (member.draining) return "draining";
  if (!member.ready) return "unready";
  if (!member.healthy) return "unhealthy";
  if (member.ejectedUntil !== undefined) return "ejected";
  return "available";
}

/**
 * Counts the members of every pool in `table` by endpoint and state, at each scrape: ejections
 * end by time, with no event to count them on. Every state of an endpoint with members gets a
 * series, zeros included, so a graph stacked by state keeps its shape.
 */
export function poolMemberCensus(table: RoutingTable, endpointLabel: (url: string) => string): Census<"endpoint" | "state"> {
  return (add) => {
    const now = Date.now();
    for (const endpoint of table.endpoints()) {
      if (endpoint.pool.size === 0) continue;
      const counts: Record<PoolMemberState, number> = { draining: 0, unready: 0, unhealthy: 0, ejected: 0, available: 0 };
      for (const member of endpoint.pool.snapshot(now)) counts[memberStateOf(member)]++;
      const label = endpointLabel(endpoint.url.url);
      for (const state of POOL_MEMBER_STATES) add({ endpoint: label, state }, counts[state]);
    }
  };
}
