import { ErrorCode, OnrampError } from "@onramp/errors";
import { endpointIdOf, type StoredBinding } from "@onramp/registry";
import { everyItem } from "./pagination.js";
import type { MeshObserver } from "./mesh-observer.js";
import { ok, ref, type ApiRequest, type JsonSchema, type Route } from "./route.js";
import { listOf, object } from "./schemas.js";

/**
 * `/v1/endpoints`: what the mesh serves now, from its bindings and cloud endpoints. Read-only.
 * Members' health and load come from the status updates their edges publish on the bus.
 */

const TAG = "endpoints";

export const endpointSchemas: Record<string, JsonSchema> = {
  Endpoint: object({
    id: { type: "string", pattern: "^ep_[0-9a-f]{12}$", description: "`ep_` and 12 hex digits of the SHA-256 of the host, as edges name it (`endpoint.id` in policies)." },
    url: { type: "string" },
    type: { enum: ["agent", "cloud"] },
    pooling: { type: "boolean" },
    members: { type: "array", items: ref("EndpointMember"), description: "The agents serving it; none for a cloud endpoint." },
  }),
  EndpointMember: object({
    edge: { type: "string", description: "The edge the agent is connected to." },
    region: { type: "string" },
    agent_id: { type: "string" },
    session_id: { type: "string" },
    upstream: { type: "string", description: "Where the agent forwards." },
    weight: { type: "integer", minimum: 1, maximum: 1000 },
    healthy: {
      type: ["boolean", "null"],
      description:
        "What the agent's health checks of its upstream last said, as its edge reports it on the mesh's bus: a pooled member with every heartbeat, a non-pooled one only when its health changes (its edge takes it as healthy until its agent says otherwise). Null when unknown: the API has no bus (`onramp registry` without `--nats`), or no report about this binding has arrived yet (so a non-pooled member that has always been healthy is null).",
    },
    load: {
      type: ["integer", "null"],
      minimum: 0,
      description:
        "Requests in flight on the member's agent session, as its edge reported with its last heartbeat. Null when unknown (as for `healthy`), and always for a non-pooled member, whose edge reports its load only with a change of health (it would be stale).",
    },
  }),
  EndpointList: listOf("endpoints", ref("Endpoint"), false),
};


interface EndpointView {
  id: string;
  url: string;
  type: "agent" | "cloud";
  pooling: boolean;
  members: ReturnType<typeof memberOf>[];
}

/**
 * A member as the registry lists it, with the status its edge last reported for this very write
 * of its binding (a status names the revision it is about). Edges report a pooled member's load
 * with every heartbeat, a non-pooled one only with a change of health: its load would be stale.
 */
function memberOf({ key, revision, binding }: StoredBinding, mesh: MeshObserver) {
  const { edge, region, agent_id, session_id, upstream } = binding;
  const status = mesh.statusOf(key, revision);
  return {
    edge,
    region,
    agent_id,
    session_id,
    upstream,
    weight: binding.weight ?? 1,
    healthy: status?.healthy ?? null,
    load: status && binding.pooling ? status.load : null,
  };
}

/** Every endpoint, by host. The registry lets no host be both (a cloud endpoint refuses binds); if it were, the cloud one is what edges serve. */
async function endpoints({ store, mesh }: ApiRequest): Promise<EndpointView[]> {
  const since = Date.now();
  const [bindings, clouds] = await Promise.all([store.listBindings(), everyItem((page) => store.listCloudEndpoints(page))]);
  mesh.keepBindings(new Set(bindings.map((stored) => stored.key)), since);
  const byHost = new Map<string, EndpointView>();
  for (const stored of bindings) {
    const { host, url, pooling } = stored.binding;
    const view = byHost.get(host) ?? { id: endpointIdOf(host), url, type: "agent", pooling, members: [] };
    view.members.push(memberOf(stored, mesh));
    byHost.set(host, view);
  }
  for (const cloud of clouds) byHost.set(cloud.host, { id: endpointIdOf(cloud.host), url: cloud.url, type: "cloud", pooling: false, members: [] });
  return [...byHost.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, view]) => view);
}

export const endpointRoutes: Route[] = [
  {
    method: "GET",
    base: "/v1",
    path: "/endpoints",
    doc: {
      operationId: "listEndpoints",
      tag: TAG,
      summary: "List endpoints",
      description: "Every endpoint the mesh serves: agents' bindings grouped by host, and cloud endpoints. Not paginated: `next_page_uri` is null.",
      response: { status: 200, description: "Every endpoint, by host.", schema: ref("EndpointList") },
    },
    async handle(request) {
      return ok({ endpoints: await endpoints(request), next_page_uri: null });
    },
  },
  {
    method: "GET",
    base: "/v1",
    path: "/endpoints/{id}",
    doc: {
      operationId: "getEndpoint",
      tag: TAG,
      summary: "Get an endpoint",
      params: { id: "The endpoint's id (`ep_…`)." },
      response: { status: 200, description: "The endpoint.", schema: ref("Endpoint") },
    },
    async handle(request) {
      const id = request.params.id;
      const found = /^ep_[0-9a-f]{12}$/.test(id ?? "") ? (await endpoints(request)).find((e) => e.id === id) : undefined;
      if (!found) throw new OnrampError(ErrorCode.NotFound, "no endpoint has this id now (ids are ep_ and 12 hex digits; an endpoint exists while agents bind it)");
      return ok(found);
    },
  },
];
