import type { EdgeMetrics } from "@onramp/telemetry";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { RoutingTable } from "./routing-table.js";

/** JSON view of one online endpoint, as served by GET /api/endpoints. */
export interface EndpointView {
  id: string;
  url: string;
  pooling: boolean;
  /** The same as `pooling`; kept for scripts written against the single-edge API. */
  pooling_enabled: boolean;
  internal: boolean;
  cloud: boolean;
  /** Nearly every member is unhealthy: health is ignored and every member gets requests. */
  panic: boolean;
  members: MemberView[];
}

export interface MemberView {
  /** The binding's registry key. */
  id: string;
  /** Id of the edge the agent is connected to, and that edge's region. */
  edge: string;
  region: string;
  /** True when the agent is connected to this edge; otherwise requests go through the relay. */
  local: boolean;
  session_id: string;
  agent_id: string;
  bind_id: string;
  upstream: string;
  /** Requests this edge has in flight to the member. */
  outstanding: number;
  /** Requests in flight on the member as its own edge last reported (remote members). */
  reported_load: number;
  /** Share of the pool's traffic relative to the other members. */
  weight: number;
  /** 0 = on this edge, 1 = another edge in this region, 2 = another region: lower tiers are preferred. */
  tier: number;
  /** What the agent's health check of its upstream last said. */
  healthy: boolean;
  /** False while the route to it is down (a relay being dialled). */
  ready: boolean;
  /** Set while passive outlier detection keeps requests away from it (ISO time it is let back). */
  ejected_until: string | null;
  /** Requests this edge sent it so far. */
  picks: number;
}

/** What /healthz reports besides the routing table. */
export interface EdgeStatus {
  edge: string;
  region: string;
  sessions: number;
  draining: boolean;
  peers: Array<{ id: string; region: string; advertise: string; relay: boolean }>;
}

export function endpointViews(table: RoutingTable): EndpointView[] {
  const now = Date.now();
  return table.endpoints().map((e) => {
    const states = new Map(e.pool.snapshot(now).map((s) => [s.id, s]));
    return {
      id: e.id,
      url: e.url.url,
      pooling: e.pooling,
      pooling_enabled: e.pooling,
      internal: e.url.internal,
      cloud: e.cloudPolicy !== undefined,
      panic: e.pool.size > 0 && e.pool.panicking(now),
      members: e.pool.members().map((m) => {
        const s = states.get(m.id);
        return {
          id: m.id,
          edge: m.edge,
          region: m.region,
          local: m.local,
          session_id: m.sessionId,
          agent_id: m.agentId,
          bind_id: m.bindId,
          upstream: m.upstream,
          outstanding: e.pool.outstanding(m.id),
          reported_load: s?.reportedLoad ?? 0,
          weight: s?.weight ?? 1,
          tier: s?.tier ?? 0,
          healthy: s?.healthy ?? true,
          ready: s?.ready ?? true,
          ejected_until: s?.ejectedUntil === undefined ? null : new Date(s.ejectedUntil).toISOString(),
          picks: s?.picks ?? 0,
        };
      }),
    };
  });
}

/** GET /healthz, GET /metrics (Prometheus text), GET /api/endpoints (JSON: every endpoint of the mesh). */
export function createAdminServer(table: RoutingTable, metrics: EdgeMetrics, status: () => EdgeStatus): Server {
  return createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") return json(res, 405, { error: "method not allowed" });
    switch (path) {
      case "/healthz": {
        const s = status();
        return json(res, s.draining ? 503 : 200, { status: s.draining ? "draining" : "ok", ...s, endpoints: table.size });
      }
      case "/metrics":
        metrics.registry.metrics().then(
          (text) => {
            res.writeHead(200, { "content-type": metrics.registry.contentType });
            res.end(text);
          },
          (err: Error) => json(res, 500, { error: err.message }),
        );
        return;
      case "/api/endpoints":
        return json(res, 200, { endpoints: endpointViews(table) });
      default:
        return json(res, 404, { error: `no such admin path: ${path}` });
    }
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
