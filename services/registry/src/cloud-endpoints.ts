import { ErrorCode, OnrampError } from "@onramp/errors";
import type { CloudEndpointRecord, ControlStore } from "@onramp/registry";
import { createHash } from "node:crypto";
import { parseCloudEndpointUrl } from "./cloud-endpoint-url.js";
import { invalidField, onlyFields, optionalString, requiredString } from "./input.js";
import { everyItem, listReply, pageRequestOf } from "./pagination.js";
import { created, noContent, ok, ref, type ApiRequest, type JsonSchema, type Route } from "./route.js";
import { description, listOf, object, timestamp, uri } from "./schemas.js";
import { cloudPolicyProblems, policyTextOf } from "./traffic-policy-input.js";

/** `/v1/cloud_endpoints`: endpoints without an agent, answered by their policy at every edge. */

const TAG = "cloud_endpoints";
const ID = { id: "The cloud endpoint's id (`cep_…`)." };
/** ngrok's limit, as for the other descriptions (the store checks those; cloud endpoints it takes as given). */
const MAX_DESCRIPTION = 255;

/**
 * What the API stores: the registry's record plus the two fields the API shows, which the store
 * keeps as written (it stores the record's JSON). Endpoints an edge defined from its configuration
 * have neither: they show "" and their `updated_at`.
 */
interface ApiCloudEndpointRecord extends CloudEndpointRecord {
  description?: string;
  created_at?: string;
}

const policy: JsonSchema = {
  description:
    "The traffic policy: YAML or JSON text, or a JSON object. It must end every request with a terminating action (a cloud endpoint has no upstream).",
  oneOf: [{ type: "string" }, { type: "object" }],
};

export const cloudEndpointSchemas: Record<string, JsonSchema> = {
  CloudEndpoint: object({
    id: { type: "string", pattern: "^cep_[0-9a-f]{16}$", description: "`cep_` and 16 hex digits of the SHA-256 of the host: the same for the same host." },
    uri,
    url: { type: "string", examples: ["https://status.example.com"] },
    host: { type: "string" },
    traffic_policy: { type: "string", description: "The policy as stored (an object given is stored as its JSON text)." },
    description,
    created_at: timestamp,
    updated_at: timestamp,
  }),
  CloudEndpointCreate: object({ url: { type: "string", examples: ["https://status.example.com"] }, traffic_policy: policy, description }, ["url", "traffic_policy"]),
  CloudEndpointUpdate: object({ traffic_policy: policy, description }, []),
  CloudEndpointList: listOf("cloud_endpoints", ref("CloudEndpoint"), true),
};

export const cloudEndpointIdOf = (host: string): string => `cep_${createHash("sha256").update(host).digest("hex").slice(0, 16)}`;

function view(record: ApiCloudEndpointRecord) {
  const id = cloudEndpointIdOf(record.host);
  return {
    id,
    uri: `/v1/cloud_endpoints/${id}`,
    url: record.url,
    host: record.host,
    traffic_policy: record.traffic_policy,
    description: record.description ?? "",
    created_at: record.created_at ?? record.updated_at,
    updated_at: record.updated_at,
  };
}

function checkedDescription(body: Record<string, unknown>): string | undefined {
  const text = optionalString(body, "description");
  const length = text === undefined ? 0 : [...text].length;
  if (length > MAX_DESCRIPTION) throw invalidField("description", `is ${length} characters long; at most ${MAX_DESCRIPTION} are allowed`);
  return text;
}

const CLOUD_ID = /^cep_[0-9a-f]{16}$/;

/** The id names a host only through its hash, so the host is found by listing (cloud endpoints are few). */
async function findById(store: ControlStore, id: string | undefined): Promise<ApiCloudEndpointRecord> {
  if (id === undefined || !CLOUD_ID.test(id)) throw new OnrampError(ErrorCode.NotFound, "no cloud endpoint has this id (they are cep_ and 16 hex digits)");
  const found = (await everyItem((page) => store.listCloudEndpoints(page))).find((record) => cloudEndpointIdOf(record.host) === id);
  if (!found) throw new OnrampError(ErrorCode.NotFound, `cloud endpoint ${id} does not exist`);
  return found;
}

/**
 * ALREADY_EXISTS when `host` has a cloud endpoint: POST creates, PATCH changes. A check, then the
 * put: the store has no create-only put for cloud endpoints, so two creates of one host racing
 * can both succeed, the later one winning.
 */
async function absent(store: ControlStore, host: string): Promise<void> {
  try {
    await store.getCloudEndpoint(host);
  } catch (err) {
    if (err instanceof OnrampError && err.code === ErrorCode.NotFound) return;
    throw err;
  }
  throw new OnrampError(ErrorCode.AlreadyExists, `a cloud endpoint for ${host} exists already (${cloudEndpointIdOf(host)}); change it with PATCH or delete it first`);
}

const updatedBy = (request: ApiRequest) => `api:${request.caller?.id ?? "unknown"}`;

export const cloudEndpointRoutes: Route[] = [
  {
    method: "POST",
    base: "/v1",
    path: "/cloud_endpoints",
    doc: {
      operationId: "createCloudEndpoint",
      tag: TAG,
      summary: "Create a cloud endpoint",
      description:
        "Every edge answers the URL with the policy from then on. Refused with 409 when a cloud endpoint for the host exists (ALREADY_EXISTS) or agents hold bindings for it (BIND_CONFLICT).",
      body: ref("CloudEndpointCreate"),
      response: { status: 201, description: "The cloud endpoint.", schema: ref("CloudEndpoint") },
      errors: [409, 422],
    },
    async handle(request) {
      const body = await request.body();
      onlyFields(body, ["url", "traffic_policy", "description"]);
      const { url, host } = parseCloudEndpointUrl(requiredString(body, "url"));
      if (body.traffic_policy === undefined || body.traffic_policy === null) throw invalidField("traffic_policy", "is required");
      const text = policyTextOf(body.traffic_policy);
      const describedAs = checkedDescription(body);
      const problems = cloudPolicyProblems(text);
      if (problems) return problems;
      await absent(request.store, host);
      const now = new Date().toISOString();
      const record: ApiCloudEndpointRecord = {
        url,
        host,
        traffic_policy: text,
        source: "api",
        updated_by: updatedBy(request),
        updated_at: now,
        description: describedAs ?? "",
        created_at: now,
      };
      const stored = await request.store.putCloudEndpoint(record);
      return created(view(stored.endpoint));
    },
  },
  {
    method: "GET",
    base: "/v1",
    path: "/cloud_endpoints",
    doc: {
      operationId: "listCloudEndpoints",
      tag: TAG,
      summary: "List cloud endpoints",
      description: "Those defined through this API and those edges define from their configuration.",
      paginated: true,
      response: { status: 200, description: "One page of cloud endpoints, by host.", schema: ref("CloudEndpointList") },
    },
    async handle(request) {
      const page = pageRequestOf(request.query);
      return listReply("cloud_endpoints", await request.store.listCloudEndpoints(page), page.limit, view);
    },
  },
  {
    method: "GET",
    base: "/v1",
    path: "/cloud_endpoints/{id}",
    doc: {
      operationId: "getCloudEndpoint",
      tag: TAG,
      summary: "Get a cloud endpoint",
      params: ID,
      response: { status: 200, description: "The cloud endpoint.", schema: ref("CloudEndpoint") },
    },
    async handle(request) {
      return ok(view(await findById(request.store, request.params.id)));
    },
  },
  {
    method: "PATCH",
    base: "/v1",
    path: "/cloud_endpoints/{id}",
    doc: {
      operationId: "updateCloudEndpoint",
      tag: TAG,
      summary: "Update a cloud endpoint",
      description:
        "Changes the policy or the description; the URL stays (delete and create to move it). An endpoint an edge defines from its configuration is defined again from it when that edge restarts.",
      params: ID,
      body: ref("CloudEndpointUpdate"),
      response: { status: 200, description: "The cloud endpoint as changed.", schema: ref("CloudEndpoint") },
      errors: [422],
    },
    async handle(request) {
      const body = await request.body();
      onlyFields(body, ["traffic_policy", "description"]);
      const text = body.traffic_policy === undefined || body.traffic_policy === null ? undefined : policyTextOf(body.traffic_policy);
      const describedAs = checkedDescription(body);
      const problems = text === undefined ? undefined : cloudPolicyProblems(text);
      if (problems) return problems;
      const current = await findById(request.store, request.params.id);
      const record: ApiCloudEndpointRecord = {
        ...current,
        ...(text === undefined ? {} : { traffic_policy: text }),
        ...(describedAs === undefined ? {} : { description: describedAs }),
        source: "api",
        updated_by: updatedBy(request),
        updated_at: new Date().toISOString(),
        created_at: current.created_at ?? current.updated_at,
      };
      return ok(view((await request.store.putCloudEndpoint(record)).endpoint));
    },
  },
  {
    method: "DELETE",
    base: "/v1",
    path: "/cloud_endpoints/{id}",
    doc: {
      operationId: "deleteCloudEndpoint",
      tag: TAG,
      summary: "Delete a cloud endpoint",
      description: "Edges answer 404 for its host at once.",
      params: ID,
      response: { status: 204, description: "Deleted." },
    },
    async handle(request) {
      const { host } = await findById(request.store, request.params.id);
      await request.store.deleteCloudEndpoint(host);
      return noContent();
    },
  },
];
