import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import { InPlaceCounter, InPlaceHistogram, type CounterSeries } from "./in-place-metrics.js";
import { createEdgeRoutingMetrics, type EdgeRoutingMetrics } from "./edge-routing-metrics.js";

/** The edge's Prometheus metrics, registered on a registry of their own (not the global one). */
export interface EdgeMetrics extends EdgeRoutingMetrics {
  readonly registry: Registry;
  readonly requests: InPlaceCounter<"endpoint" | "code" | "error_code">;
  readonly requestDuration: InPlaceHistogram<"endpoint">;
  /** Requests a traffic policy answered itself with an Onramp error (rate limited, IP denied, JWT rejected, …). */
  readonly policyRejections: Counter<"endpoint" | "error_code">;
  /** The endpoint label for a URL: the URL itself for the first `MAX_ENDPOINT_LABELS` seen, then "other". */
  readonly endpointLabel: (url: string) => string;
  readonly activeRequests: Gauge;
  readonly bytes: InPlaceCounter<"direction">;
  /** `bytes` by direction, found once: what the request path adds to. */
  readonly bodyBytes: { readonly request: CounterSeries; readonly response: CounterSeries };
  readonly sessions: Gauge;
  readonly dataConnections: Gauge;
  readonly endpoints: Gauge;
  readonly binds: Counter<"result">;
  readonly retries: Counter<"reason" | "result">;
  readonly ejections: Counter<"reason">;
  readonly memberHealth: Counter<"healthy">;
}

export function createEdgeMetrics(): EdgeMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const bytes = new InPlaceCounter({
    name: "onramp_edge_body_bytes_total",
    help: "Body bytes proxied, by direction (request = client to agent, response = agent to client).",
    labelNames: ["direction"],
    registers: [registry],
  });
  return {
    registry,
    bytes,
    bodyBytes: { request: bytes.labels("request"), response: bytes.labels("response") },
    ...createEdgeRoutingMetrics(registry),
    requests: new InPlaceCounter({
      name: "onramp_edge_http_requests_total",
      help: "HTTP requests answered by the edge, by endpoint URL (empty when no endpoint matched the Host), status code and Onramp error code (empty when the upstream answered).",
      labelNames: ["endpoint", "code", "error_code"],
      registers: [registry],
    }),
    requestDuration: new InPlaceHistogram({
      name: "onramp_edge_http_request_duration_seconds",
      help: "Time from request head received to the end of the response, by endpoint URL.",
      labelNames: ["endpoint"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    activeRequests: new Gauge({ name: "onramp_edge_http_active_requests", help: "Requests in flight.", registers: [registry] }),
    sessions: new Gauge({ name: "onramp_edge_agent_sessions", help: "Connected agent sessions.", registers: [registry] }),
    dataConnections: new Gauge({ name: "onramp_edge_data_connections", help: "Open agent data connections.", registers: [registry] }),
    // Every worker of `onramp edge --workers` sees the whole mesh: the workers' figures are one figure, not a sum.
    endpoints: new Gauge({ name: "onramp_edge_endpoints", help: "Online endpoints (URLs with at least one member).", registers: [registry], aggregator: "max" }),
    binds: new Counter({
      name: "onramp_edge_binds_total",
      help: "Bind attempts by result (ok or an Onramp error code).",
      labelNames: ["result"],
      registers: [registry],
    }),
    retries: new Counter({
      name: "onramp_edge_retries_total",
      help: "Requests sent again to another pool member, by why the attempt failed (an Onramp error code) and whether a retry was made (retried, or budget / no-member when it was not).",
      labelNames: ["reason", "result"],
      registers: [registry],
    }),
    ejections: new Counter({
      name: "onramp_edge_pool_ejections_total",
      help: "Pool members this edge stopped sending requests to after consecutive failures (passive outlier detection), by the failure that tipped it (5xx, reset, timeout).",
      labelNames: ["reason"],
      registers: [registry],
    }),
    policyRejections: new Counter({
      name: "onramp_edge_policy_rejections_total",
      help: "Requests a traffic policy answered itself with an Onramp error (e.g. RATE_LIMITED, IP_DENIED, JWT_INVALID), by endpoint URL and error code.",
      labelNames: ["endpoint", "error_code"],
      registers: [registry],
    }),
    endpointLabel: boundedLabel(MAX_ENDPOINT_LABELS),
    memberHealth: new Counter({
      name: "onramp_edge_member_health_changes_total",
      help: "Health changes of this edge's own pool members, as their agents' upstream health checks report them.",
      labelNames: ["healthy"],
      registers: [registry],
    }),
  };
}

/**
 * Distinct endpoint URLs used as label values, per process. An edge serving random URLs that come
 * and go would otherwise grow its series without bound; past this many, URLs count as "other".
 */
export const MAX_ENDPOINT_LABELS = 500;

/** Maps values to themselves until `max` distinct ones were seen, then new ones to "other". */
export function boundedLabel(max: number): (value: string) => string {
  const seen = new Set<string>();
  return (value) => {
    if (seen.has(value)) return value;
    if (seen.size >= max) return "other";
    seen.add(value);
    return value;
  };
}
