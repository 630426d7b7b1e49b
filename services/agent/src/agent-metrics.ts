import { ErrorCode, httpStatusOf } from "@onramp/errors";
import type { AgentMetrics } from "@onramp/telemetry";
import type { AgentEdge } from "./agent.js";
import type { ExchangeObserver, ExchangeOutcome, ObserveExchange } from "./exchange-observer.js";
import type { AgentStatus } from "./options.js";

/** The failures that are the upstream's doing, rather than the client leaving or the edge going away. */
const UPSTREAM_ERRORS = new Set<ErrorCode>([ErrorCode.UpstreamRefused, ErrorCode.UpstreamTimeout, ErrorCode.UpstreamError]);

/** What feeds an agent's metrics: its exchanges, its statuses and, at each scrape, its sessions. */
export interface AgentMeter {
  /** For `AgentOptions.observe`, combined with the other observers (`combineObservers`). */
  readonly observe: ObserveExchange;
  /** For `AgentOptions.onStatus`, next to the other listeners. */
  readonly onStatus: (status: AgentStatus) => void;
  /** Counts the agent's sessions at each scrape from `agent.edges()`; call once the agent exists. */
  countSessionsOf(agent: { edges(): readonly AgentEdge[] }): void;
}

/**
 * Feeds `metrics` from an agent. Requests are counted when they end, from their outcome, by one
 * observer per endpoint shared by all of its requests, with its series made at the first request:
 * the request path allocates nothing for metrics.
 */
export function createAgentMeter(metrics: AgentMetrics): AgentMeter {
  const series = new Map<string, EndpointSeries>();
  const seriesOf = (url: string) => {
    const label = metrics.endpointLabel(url);
    let s = series.get(label);
    if (!s) series.set(label, (s = new EndpointSeries(metrics, label)));
    return s;
  };
  /** bind id → URL, from `bound`: health statuses name the bind only. */
  const urls = new Map<string, string>();
  /** bind id → latest health; a bind is healthy until a check says otherwise, as the edges take it. */
  const healthy = new Map<string, boolean>();
  const showHealth = (bindId: string) => {
    const url = urls.get(bindId);
    if (url !== undefined) metrics.upstreamHealthy.set({ endpoint: metrics.endpointLabel(url) }, healthy.get(bindId) === false ? 0 : 1);
  };
  const boundOk = metrics.binds.labels("ok");
  return {
    observe: (info) => seriesOf(info.endpointUrl).start(),
    onStatus: (status) => {
      switch (status.kind) {
        case "bound":
          boundOk.inc();
          urls.set(status.bindId, status.url);
          showHealth(status.bindId);
          return;
        case "bind-failed":
          metrics.binds.inc({ result: status.error.code });
          return;
        case "disconnected":
          metrics.reconnects.inc({ edge: metrics.edgeLabel(status.edge), problem: status.problem });
          return;
        case "health":
          healthy.set(status.bindId, status.healthy);
          showHealth(status.bindId);
          return;
        case "connected":
          return;
      }
    },
    countSessionsOf: (agent) =>
      metrics.countSessions((add) => {
        for (const e of agent.edges()) add({ edge: metrics.edgeLabel(e.edge) }, e.connected ? 1 : 0);
      }),
  };
}

interface CounterChild {
  inc(value?: number): void;
}

/** The series of one endpoint label, and the observer its requests share. */
class EndpointSeries {
  private readonly duration: { observe(value: number): void };
  private readonly requestBytes: CounterChild;
  private readonly responseBytes: CounterChild;
  /** Request counters by status, or by "status error-code" for failures; bounded by the codes that exist. */
  private readonly outcomes = new Map<number | string, CounterChild>();
  private readonly observer: ExchangeObserver = { end: (outcome) => this.end(outcome) };

  constructor(
    private readonly metrics: AgentMetrics,
    private readonly endpoint: string,
  ) {
    this.duration = metrics.requestDuration.labels(endpoint);
    this.requestBytes = metrics.bytes.labels("request");
    this.responseBytes = metrics.bytes.labels("response");
  }

  start(): ExchangeObserver {
    this.metrics.activeRequests.inc();
    return this.observer;
  }

  private end(outcome: ExchangeOutcome): void {
    const { metrics } = this;
    metrics.activeRequests.dec();
    const error = outcome.error?.code;
    // Without a status from the upstream, the one the edge answers for the error (502, 504, 499).
    const status = outcome.status ?? (error ? httpStatusOf(error) : 502);
    this.requests(status, error ?? "").inc();
    this.duration.observe(outcome.durationMs / 1000);
    if (outcome.requestBytes > 0) this.requestBytes.inc(outcome.requestBytes);
    if (outcome.responseBytes > 0) this.responseBytes.inc(outcome.responseBytes);
    if (error && UPSTREAM_ERRORS.has(error)) metrics.upstreamErrors.inc({ error_code: error });
  }

  private requests(status: number, errorCode: string): CounterChild {
    const key = errorCode === "" ? status : `${status} ${errorCode}`;
    let child = this.outcomes.get(key);
    if (!child) this.outcomes.set(key, (child = this.metrics.requests.labels(this.endpoint, String(status), errorCode)));
    return child;
  }
}
