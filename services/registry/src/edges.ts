import { ErrorCode, OnrampError } from "@onramp/errors";
import type { ControlStore, EdgeRecord } from "@onramp/registry";
import { ok, ref, type JsonSchema, type Route } from "./route.js";
import { listOf, object, timestamp, uri } from "./schemas.js";

/** `/v1/edges`: the live edges of the mesh. Read-only; an edge is listed while its lease lives. */

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
  }),
  EdgeList: listOf("edges", ref("Edge"), false),
};

async function edges(store: ControlStore) {
  const [records, bindings] = await Promise.all([store.listEdges(), store.listBindings()]);
  const counts = new Map<string, number>();
  for (const binding of bindings) counts.set(binding.edge, (counts.get(binding.edge) ?? 0) + 1);
  return records.map((record: EdgeRecord) => {
    const { id, region, advertise, http, started_at, version } = record;
    return { id, uri: `/v1/edges/${encodeURIComponent(id)}`, region, advertise, http, started_at, version, bindings: counts.get(id) ?? 0 };
  });
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
      return ok({ edges: await edges(request.store), next_page_uri: null });
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
      const found = (await edges(request.store)).find((edge) => edge.id === request.params.id);
      if (!found) throw new OnrampError(ErrorCode.NotFound, "no live edge has this id (an edge is listed while it runs)");
      return ok(found);
    },
  },
];
