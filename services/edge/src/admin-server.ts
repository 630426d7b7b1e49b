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
  return table.endpoints().map((e) => ({
    id: e.id,
    url: e.url.url,
    pooling: e.pooling,
    pooling_enabled: e.pooling,
    internal: e.url.internal,
    cloud: e.cloudPolicy !== undefined,
    members: e.pool.members().map((m) => ({
      id: m.id,
      edge: m.edge,
      region: m.region,
      local: m.local,
      session_id: m.sessionId,
      agent_id: m.agentId,
      bind_id: m.bindId,
      upstream: m.upstream,
      outstanding: e.pool.outstanding(m.id),
    })),
  }));
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
