import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from "prom-client";

/** One process's metrics as `Registry.getMetricsAsJSON()` gives them: plain data, fit to send between processes. */
export type MetricsSnapshot = MetricObjectWithValues<MetricValue<string>>[];

/**
 * Prometheus text for the metrics of several processes (the workers of `onramp edge --workers`)
 * as one: counters and histograms add up, each gauge by its own `aggregator` (sum unless the
 * metric says otherwise, e.g. max for what every worker sees the same).
 */
export async function aggregateMetrics(snapshots: readonly MetricsSnapshot[]): Promise<{ text: string; contentType: string }> {
  const registry = AggregatorRegistry.aggregate(snapshots as MetricsSnapshot[]);
  return { text: await registry.metrics(), contentType: registry.contentType };
}
