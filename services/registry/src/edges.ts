import { ErrorCode, OnrampError } from "@onramp/errors";
import type { EdgeRecord } from "@onramp/registry";
import { ok, ref, type ApiRequest, type JsonSchema, type Route } from "./route.js";
import { listOf, object, timestamp, uri } from "./schemas.js";

/**
 * `/v1/edges`: the live edges of the mesh. Read-only; an edge is listed while its lease lives.
 * Its record, bindings and sessions come from the registry; its last heartbeat from the bus.
 */

const TAG = "edges";

export const edgeSchemas: Record<string, JsonSchema> = {
  Edge: object({
    id: { type: "string" },
    uri,
    region: { type: "string" },
    advertise: { type: "string", description: "host:port where agents and other edges connect." },
    http: { type: "string", description: "The public HTTP listener." },
    started_at: timestamp,
    version: { type: "string" },
    bindings: { type: "integer", minimum: 0, description: "How many bindings (pool members) agents hold on it." },
    sessions: { type: "integer", minimum: 0, description: "How many agent sessions are connected to it." },
    last_heartbeat: {
      type: ["string", "null"],
      format: "date-time",
      description:
        "When this API last heard the edge's heartbeat on the mesh's bus (every second by default). Null when the API has no bus (`onramp registry` without `--nats`) or has not heard this edge yet.",
    },
  }),
  EdgeList: listOf("edges", ref("Edge"), false),
};

async function edges({ store, mesh }: ApiRequest) {
  const since = Date.now();
  const [records, bindings, sessions] = await Promise.all([store.listEdges(), store.listBindings(), store.listSessions()]);
  mesh.keepEdges(new Set(records.map((record) => record.id)), since);
  const bindingCounts = countOf(bindings.map((b) => b.binding.edge));
  const sessionCounts = countOf(sessions.map((s) => s.edge));
  return records.map((record: EdgeRecord) => {
    const { id, region, advertise, http, started_at, version } = record;
    const heard = mesh.lastHeartbeat(id);
    return {
      id,
      uri: `/v1/edges/${encodeURIComponent(id)}`,
      region,
      advertise,
      http,
      started_at,
      version,
      bindings: bindingCounts.get(id) ?? 0,
      sessions: sessionCounts.get(id) ?? 0,
      last_heartbeat: heard === undefined ? null : new Date(heard).toISOString(),
    };
  });
}

/** How many times each edge id occurs. */
function countOf(edgeIds: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const id of edgeIds) counts.set(id, (counts.get(id) ?? 0) + 1);
  return counts;
}

export const edgeRoutes: Route[] = [
  {
    method: "GET",
    base: "/v1",
    path: "/edges",
    doc: {
      operationId: "listEdges",
      tag: TAG,
      summary: "List edges",
      description: "Not paginated: `next_page_uri` is null.",
      response: { status: 200, description: "Every live edge, by id.", schema: ref("EdgeList") },
    },
    async handle(request) {
      return ok({ edges: await edges(request), next_page_uri: null });
    },
  },
  {
    method: "GET",
    base: "/v1",
    path: "/edges/{id}",
    doc: {
      operationId: "getEdge",
      tag: TAG,
      summary: "Get an edge",
      params: { id: "The edge's id." },
      response: { status: 200, description: "The edge.", schema: ref("Edge") },
    },
    async handle(request) {
      const found = (await edges(request)).find((edge) => edge.id === request.params.id);
      if (!found) throw new OnrampError(ErrorCode.NotFound, "no live edge has this id (an edge is listed while it runs)");
      return ok(found);
    },
  },
];
