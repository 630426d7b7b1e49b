import type { Tier } from "@onramp/balancer";
import type { EdgeMetrics } from "@onramp/telemetry";

/**
 * How a protocol upgrade's handshake ended: the upstream switched protocols (101), answered
 * without switching, or never answered (reset, timeout, the client left first); no endpoint or
 * member could take it; or a traffic policy answered it instead.
 */
export type UpgradeResult = "switched" | "refused" | "failed" | "unrouted" | "denied";

/**
 * What routing counts: pool picks and protocol upgrades. The routing table gives it to every
 * endpoint, so each path that routes to one (the proxy, upgrades, a policy forwarding to an
 * internal endpoint) counts the same way without being handed the metrics.
 */
export interface RoutingMeter {
  /** A member was picked and has a route. */
  picked(tier: Tier, panic: boolean): void;
  upgradeEnded(result: UpgradeResult): void;
  /** An upgraded connection opened (+1) or closed (−1). */
  upgradedConnections(delta: 1 | -1): void;
}

/** For tables and tests without metrics. */
export const UNMETERED: RoutingMeter = { picked: () => undefined, upgradeEnded: () => undefined, upgradedConnections: () => undefined };

/** A meter over the edge's metrics; its series are made here once, so counting allocates nothing. */
export function routingMeterOf(metrics: EdgeMetrics): RoutingMeter {
  const results: Record<UpgradeResult, { inc(): void }> = {
    switched: metrics.upgrades.labels("switched"),
    refused: metrics.upgrades.labels("refused"),
    failed: metrics.upgrades.labels("failed"),
    unrouted: metrics.upgrades.labels("unrouted"),
    denied: metrics.upgrades.labels("denied"),
  };
  return {
    picked: (tier, panic) => metrics.countPick(tier, panic),
    upgradeEnded: (result) => results[result].inc(),
    upgradedConnections: (delta) => metrics.upgradedConnections.inc(delta),
  };
}
