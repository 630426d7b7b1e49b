import type { EdgeMetrics } from "@onramp/telemetry";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AgentSession } from "./agent-session.js";
import type { RoutingTable } from "./routing-table.js";

/** JSON view of one online endpoint, as served by GET /api/endpoints. */
export interface EndpointView {
  id: string;
  url: string;
  pooling_enabled: boolean;
  internal: boolean;
  members: Array<{ id: string; session_id: string; agent_id: string; region: string; upstream: string; outstanding: number }>;
}

export function endpointViews(table: RoutingTable<AgentSession>): EndpointView[] {
  return table.endpoints().map((e) => ({
    id: e.id,
    url: e.url.url,
    pooling_enabled: e.pooling,
    internal: e.url.internal,
    members: e.pool.members().map((m) => ({
      id: m.id,
      session_id: m.session.id,
      agent_id: m.session.agentId,
      region: m.region,
      upstream: m.upstream,
      outstanding: e.pool.outstanding(m.id),
    })),
  }));
}

/** GET /healthz, GET /metrics (Prometheus text), GET /api/endpoints (JSON). */
export function createAdminServer(
  table: RoutingTable<AgentSession>,
  metrics: EdgeMetrics,
  status: () => { sessions: number; draining: boolean },
): Server {
  return createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") return json(res, 405, { error: "method not allowed" });
    switch (path) {
      case "/healthz": {
        const s = status();
        return json(res, s.draining ? 503 : 200, { status: s.draining ? "draining" : "ok", sessions: s.sessions, endpoints: table.size });
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
