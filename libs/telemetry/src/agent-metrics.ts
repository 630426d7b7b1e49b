import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import { InPlaceCounter, InPlaceHistogram } from "./in-place-metrics.js";
import { CensusSlot, type Census } from "./census.js";
import { boundedLabel, MAX_ENDPOINT_LABELS } from "./metrics.js";

/**
 * The agent's Prometheus metrics, on a registry of their own (not prom-client's global one), with
 * the process metrics (CPU, memory, event loop lag, …). The edge's metrics say what clients saw;
 * these say what the upstreams did, from the machine they run on.
 */
export interface AgentMetrics {
  readonly registry: Registry;
  /** Requests forwarded to upstreams, by endpoint URL, status code and Onramp error code. */
  readonly requests: InPlaceCounter<"endpoint" | "code" | "error_code">;
  /** From the request head to the end of the upstream's response, by endpoint URL. */
  readonly requestDuration: InPlaceHistogram<"endpoint">;
  readonly bytes: InPlaceCounter<"direction">;
  readonly activeRequests: Gauge;
  /** Requests the upstream failed (refused, timed out, broke off), by Onramp error code. */
  readonly upstreamErrors: Counter<"error_code">;
  readonly reconnects: Counter<"edge" | "problem">;
  readonly binds: Counter<"result">;
  readonly upstreamHealthy: Gauge<"endpoint">;
  /** Sessions by edge address, counted at each scrape by the census given to `countSessions`. */
  readonly sessions: Gauge<"edge">;
  countSessions(census: Census<"edge">): void;
  /** The endpoint label for a URL: the URL itself for the first `MAX_ENDPOINT_LABELS` seen, then "other". */
  readonly endpointLabel: (url: string) => string;
  /** The edge label for an address, bounded like endpoints (an agent may follow the edges Welcomes name). */
  readonly edgeLabel: (address: string) => string;
}

/** Edge addresses used as label values: far more than any agent holds sessions with (listed edges plus at most 16 extra). */
export const MAX_EDGE_LABELS = 100;

export function createAgentMetrics(): AgentMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const sessions = new CensusSlot<"edge">();
  return {
    registry,
    requests: new InPlaceCounter({
      name: "onramp_agent_upstream_requests_total",
      help: "Requests the agent forwarded to an upstream, by endpoint URL, status code (the upstream's, else the one the edge answers for the error) and Onramp error code (empty when the upstream answered in full).",
      labelNames: ["endpoint", "code", "error_code"],
      registers: [registry],
    }),
    requestDuration: new InPlaceHistogram({
      name: "onramp_agent_upstream_request_duration_seconds",
      help: "Time from the request head reaching the agent to the end of the upstream's response, by endpoint URL.",
      labelNames: ["endpoint"],
      // The edge's buckets, so the two histograms line up and their difference is the tunnel's share.
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    bytes: new InPlaceCounter({
      name: "onramp_agent_body_bytes_total",
      help: "Body bytes forwarded, by direction (request = edge to upstream, response = upstream to edge).",
      labelNames: ["direction"],
      registers: [registry],
    }),
    activeRequests: new Gauge({ name: "onramp_agent_upstream_active_requests", help: "Requests in flight to upstreams.", registers: [registry] }),
    upstreamErrors: new Counter({
      name: "onramp_agent_upstream_errors_total",
      help: "Requests that failed at the upstream (UPSTREAM_REFUSED, UPSTREAM_TIMEOUT, UPSTREAM_ERROR), by Onramp error code; clients that hung up are not counted.",
      labelNames: ["error_code"],
      registers: [registry],
    }),
    sessions: new Gauge({
      name: "onramp_agent_sessions",
      help: "Sessions with edges by edge address: 1 while connected, 0 while reconnecting.",
      labelNames: ["edge"],
      registers: [registry],
      collect() {
        sessions.recount(this);
      },
    }),
    countSessions: (census) => sessions.set(census),
    reconnects: new Counter({
      name: "onramp_agent_reconnects_total",
      help: "Reconnects scheduled after a session with an edge failed or ended, by edge address and problem (refused, dns, timeout, unreachable, protocol, tls, lost, draining, edge-error).",
      labelNames: ["edge", "problem"],
      registers: [registry],
    }),
    binds: new Counter({
      name: "onramp_agent_binds_total",
      help: "Binds of endpoints on edges, by result (ok or the Onramp error code of the refusal); every session binds every endpoint.",
      labelNames: ["result"],
      registers: [registry],
    }),
    upstreamHealthy: new Gauge({
      name: "onramp_agent_upstream_healthy",
      help: "1 while the endpoint's upstream passes its health checks (or is not checked), 0 while the edges send it no traffic, by endpoint URL.",
      labelNames: ["endpoint"],
      registers: [registry],
    }),
    endpointLabel: boundedLabel(MAX_ENDPOINT_LABELS),
    edgeLabel: boundedLabel(MAX_EDGE_LABELS),
  };
}
