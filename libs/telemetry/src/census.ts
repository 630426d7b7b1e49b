import type { Counter, Gauge } from "prom-client";

/**
 * Numbers that an object of a service already keeps (pool members by state, bytes on open
 * sockets), read at each scrape instead of being counted on the request path: the census calls
 * `add` once per series. Values added for the same labels sum, so URLs a bounded label folds into
 * "other" add up.
 */
export type Census<L extends string> = (add: (labels: Partial<Record<L, string>>, value: number) => void) => void;

/**
 * The census behind one scraped metric. The metrics are created before the objects that know the
 * numbers (an edge's routing table, an agent), so the census is plugged in later; until then
 * the metric has no series.
 */
export class CensusSlot<L extends string> {
  private census: Census<L> | undefined;

  set(census: Census<L>): void {
    this.census = census;
  }

  /** Replaces the metric's series with the census's; called from the metric's `collect`. */
  recount(metric: Gauge<L> | Counter<L>): void {
    metric.reset();
    this.census?.((labels, value) => metric.inc(labels, value));
  }
}
