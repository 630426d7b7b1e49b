import { Counter, Gauge, type Registry } from "prom-client";
import { InPlaceCounter } from "./in-place-metrics.js";
import { CensusSlot, type Census } from "./census.js";

/** A pool member as `onramp_edge_pool_members` counts it; the first that applies, in this order. */
export type PoolMemberState =
  /** Leaving by intent (its agent is draining): takes no new requests, not even in panic. */
  | "draining"
  /** No route to it now: its session is ending, or the relay to its edge is down. */
  | "unready"
  /** Its agent's health check of the upstream fails. */
  | "unhealthy"
  /** Kept away by passive outlier detection after consecutive failures, for a while. */
  | "ejected"
  /** Gets requests. */
  | "available";

export const POOL_MEMBER_STATES: readonly PoolMemberState[] = ["draining", "unready", "unhealthy", "ejected", "available"];

/** 0: on this edge, 1: another edge of this region, 2: another region (see @onramp/balancer's Tier). */
export type PickTier = 0 | 1 | 2;

/** The tier label values, by tier. */
const TIER_LABELS = ["edge", "region", "other"] as const;

/**
 * How the edge routes requests, beyond what each request's own metrics say: the pools behind the
 * endpoints, which tier each pick came from, the relay hops between edges, and protocol upgrades.
 */
export interface EdgeRoutingMetrics {
  /** Members of every pool by endpoint URL and state, counted at each scrape by the census given to `countPoolMembers`. */
  readonly poolMembers: Gauge<"endpoint" | "state">;
  countPoolMembers(census: Census<"endpoint" | "state">): void;
  readonly poolPicks: InPlaceCounter<"tier" | "panic">;
  /** Counts one pick; the six series are made once, so a pick allocates nothing. */
  countPick(tier: PickTier, panic: boolean): void;
  readonly relayStreams: InPlaceCounter<"direction">;
  readonly relayConnections: Gauge<"direction">;
  /** Bytes on the relay connections this edge dialled, counted at each scrape by the census given to `countRelayBytes`. */
  readonly relayBytes: Counter<"direction">;
  countRelayBytes(census: Census<"direction">): void;
  readonly upgrades: Counter<"result">;
  readonly upgradedConnections: Gauge;
}

export function createEdgeRoutingMetrics(registry: Registry): EdgeRoutingMetrics {
  const members = new CensusSlot<"endpoint" | "state">();
  const relayBytes = new CensusSlot<"direction">();
  const poolPicks = new InPlaceCounter({
    name: "onramp_edge_pool_picks_total",
    help: "Pool members picked for a request (retries included), by tier (edge = on this edge, region = another edge in this region, other = another region) and panic (true when too few members were healthy and health was ignored).",
    labelNames: ["tier", "panic"],
    registers: [registry],
  });
  const picks = TIER_LABELS.map((tier) => [poolPicks.labels(tier, "false"), poolPicks.labels(tier, "true")] as const);
  return {
    poolMembers: new Gauge({
      name: "onramp_edge_pool_members",
      help: "Members of the pools behind this edge's endpoints, local and on other edges, by endpoint URL and state (draining, unready, unhealthy, ejected, available: the first that applies).",
      labelNames: ["endpoint", "state"],
      registers: [registry],
      // Each worker of `onramp edge --workers` counts the same mesh-wide pools.
      aggregator: "max",
      collect() {
        members.recount(this);
      },
    }),
    countPoolMembers: (census) => members.set(census),
    poolPicks,
    countPick: (tier, panic) => picks[tier]![panic ? 1 : 0].inc(),
    relayStreams: new InPlaceCounter({
      name: "onramp_edge_relay_streams_total",
      help: "Requests relayed between edges, by direction (outbound = sent to a member on another edge, inbound = taken from another edge for an agent here).",
      labelNames: ["direction"],
      registers: [registry],
    }),
    relayConnections: new Gauge({
      name: "onramp_edge_relay_connections",
      help: "Open relay connections with other edges, by direction (outbound = dialled by this edge, inbound = dialled by another).",
      labelNames: ["direction"],
      registers: [registry],
    }),
    relayBytes: new Counter({
      name: "onramp_edge_relay_bytes_total",
      help: "Bytes on the relay connections this edge dialled (frames included), by direction (sent = towards the other edges' agents, received = their responses). Every relay connection is dialled by one edge, so the sum over edges is the mesh's relay traffic.",
      labelNames: ["direction"],
      registers: [registry],
      collect() {
        relayBytes.recount(this);
      },
    }),
    countRelayBytes: (census) => relayBytes.set(census),
    upgrades: new Counter({
      name: "onramp_edge_upgrades_total",
      help: "Protocol upgrades (WebSocket) by how the handshake ended: switched (the upstream answered 101), refused (it answered without switching), failed (reset, timeout or the client left before an answer), unrouted (no endpoint or no member could take it), denied (a traffic policy answered it).",
      labelNames: ["result"],
      registers: [registry],
    }),
    upgradedConnections: new Gauge({ name: "onramp_edge_upgraded_connections", help: "Open upgraded (WebSocket) connections.", registers: [registry] }),
  };
}
