import type { ErrorStatus, JsonSchema, Route } from "./route.js";
import { resolveSchema, ROUTES, SCHEMAS } from "./routes.js";

/**
 * The OpenAPI 3.1 document, generated from the route table so it cannot drift from what is
 * served. `docs/openapi.json` is this document, checked in (openapi.test.ts fails when it is
 * stale; `node scripts/generate-openapi.mjs` rewrites it from the build).
 */

const ERROR_RESPONSES: Record<ErrorStatus, { name: string; description: string }> = {
  400: { name: "BadRequest", description: "INVALID_ARGUMENT: the body is not a JSON object, or a field is bad (named in `details.field`)." },
  401: { name: "Unauthorized", description: "UNAUTHORIZED: no API key, or not a valid one." },
  404: { name: "NotFound", description: "NOT_FOUND: nothing has this id." },
  409: { name: "Conflict", description: "ALREADY_EXISTS (the object exists already) or BIND_CONFLICT (agents hold the host)." },
  413: { name: "BodyTooLarge", description: "BODY_TOO_LARGE: the body is larger than 1 MiB." },
  422: { name: "PolicyInvalid", description: "POLICY_INVALID: every problem of the traffic policy, with its line and column, in `details.errors`." },
  503: { name: "RegistryUnavailable", description: "REGISTRY_UNAVAILABLE: the store (etcd) did not answer in time. Retryable." },
};

const DESCRIPTION = [
  "The control plane of an Onramp mesh: authtokens, reserved domains, cloud endpoints and API keys, and read-only views of the live endpoints and edges.",
  "",
  "**Auth.** Every operation except `GET /openapi.json` and `GET /healthz` needs `Authorization: Bearer <API key>`. A verified key is trusted for up to a second without asking the store again, so a key revoked through another process serving this API may work for up to a second more.",
  "",
  "**Errors.** Every error answers with a JSON body (`Error`) and the `Onramp-Error-Code` header. A method a path does not take answers 405 (`ERR_ONRAMP_INVALID_ARGUMENT`, with an `Allow` header).",
  "",
  "**Lists.** `limit` (1–1000, default 100) and an opaque `cursor`; follow `next_page_uri` until it is null.",
].join("\n");

export function openApiDocument(): object {
  return documentOf(ROUTES, SCHEMAS);
}

function documentOf(routes: readonly Route[], schemas: Readonly<Record<string, JsonSchema>>): object {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const item = (paths[route.path] ??= route.base === "" ? { servers: [{ url: "/", description: "Served at the root, not under /v1." }] } : {});
    item[route.method.toLowerCase()] = operationOf(route, schemas);
  }
  const tags = [...new Set(routes.map((route) => route.doc.tag))].map((name) => ({ name }));
  return {
    openapi: "3.1.0",
    info: { title: "Onramp registry API", version: "1", description: DESCRIPTION },
    servers: [{ url: "/v1" }],
    security: [{ api_key: [] }],
    tags,
    paths,
    components: {
      securitySchemes: { api_key: { type: "http", scheme: "bearer", description: "An API key: `onramp registry --api-key`, or one created with POST /api_keys." } },
      parameters: {
        limit: { name: "limit", in: "query", required: false, schema: { type: "integer", minimum: 1, maximum: 1000, default: 100 } },
        cursor: { name: "cursor", in: "query", required: false, schema: { type: "string" }, description: "From `next_page_uri`; opaque." },
      },
      headers: {
        OnrampErrorCode: { description: "The error code, as in the body's `error_code`.", schema: { type: "string", pattern: "^ERR_ONRAMP_[A-Z_]+$" } },
      },
      responses: Object.fromEntries(
        Object.values(ERROR_RESPONSES).map(({ name, description }) => [
          name,
          {
            description,
            headers: { "Onramp-Error-Code": { $ref: "#/components/headers/OnrampErrorCode" } },
            content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
          },
        ]),
      ),
      schemas,
    },
  };
}

function operationOf(route: Route, schemas: Readonly<Record<string, JsonSchema>>): Record<string, unknown> {
  const { doc } = route;
  const parameters = [
    ...Object.entries(doc.params ?? {}).map(([name, description]) => ({ name, in: "path", required: true, description, schema: { type: "string" } })),
    ...(doc.paginated ? [{ $ref: "#/components/parameters/limit" }, { $ref: "#/components/parameters/cursor" }] : []),
  ];
  const responses: Record<string, unknown> = {
    [doc.response.status]: {
      description: doc.response.description,
      ...(doc.response.schema ? { content: { "application/json": { schema: doc.response.schema } } } : {}),
    },
  };
  for (const status of errorStatusesOf(route)) responses[status] = { $ref: `#/components/responses/${ERROR_RESPONSES[status].name}` };
  return {
    operationId: doc.operationId,
    tags: [doc.tag],
    summary: doc.summary,
    ...(doc.description ? { description: doc.description } : {}),
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(doc.body ? { requestBody: { required: hasRequiredFields(doc.body, schemas), content: { "application/json": { schema: doc.body } } } } : {}),
    responses,
    ...(route.public ? { security: [] } : {}),
  };
}

/** The errors any operation of its kind can answer, and those its doc names. */
function errorStatusesOf(route: Route): ErrorStatus[] {
  const { doc } = route;
  const statuses = new Set<ErrorStatus>(doc.errors ?? []);
  const add = (...more: ErrorStatus[]) => more.forEach((status) => statuses.add(status));
  if (!route.public) add(401, 503);
  if (doc.params) add(404);
  if (doc.body) add(400, 413);
  if (doc.paginated) add(400);
  return [...statuses].sort((a, b) => a - b);
}

function hasRequiredFields(schema: JsonSchema, schemas: Readonly<Record<string, JsonSchema>>): boolean {
  const required = resolveSchema(schema, schemas)?.required;
  return Array.isArray(required) && required.length > 0;
}
