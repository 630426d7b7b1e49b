import { apiKeyRoutes, apiKeySchemas } from "./api-keys.js";
import { authtokenRoutes, authtokenSchemas } from "./authtokens.js";
import { cloudEndpointRoutes, cloudEndpointSchemas } from "./cloud-endpoints.js";
import { edgeRoutes, edgeSchemas } from "./edges.js";
import { endpointRoutes, endpointSchemas } from "./endpoints.js";
import { metaRoutes, metaSchemas } from "./meta.js";
import { reservedDomainRoutes, reservedDomainSchemas } from "./reserved-domains.js";
import type { JsonSchema, Route } from "./route.js";
import { errorSchemas } from "./schemas.js";

/** Every route the service answers, in the order the OpenAPI document lists them. */
export const ROUTES: readonly Route[] = [
  ...authtokenRoutes,
  ...reservedDomainRoutes,
  ...cloudEndpointRoutes,
  ...apiKeyRoutes,
  ...endpointRoutes,
  ...edgeRoutes,
  ...metaRoutes,
];

/** The schemas the routes refer to, by name (`components.schemas`). */
export const SCHEMAS: Readonly<Record<string, JsonSchema>> = {
  ...authtokenSchemas,
  ...reservedDomainSchemas,
  ...cloudEndpointSchemas,
  ...apiKeySchemas,
  ...endpointSchemas,
  ...edgeSchemas,
  ...metaSchemas,
  ...errorSchemas,
};

/** The schema itself, for a `$ref` into `SCHEMAS`. */
export function resolveSchema(schema: JsonSchema, schemas: Readonly<Record<string, JsonSchema>> = SCHEMAS): JsonSchema | undefined {
  return typeof schema.$ref === "string" ? schemas[schema.$ref.replace("#/components/schemas/", "")] : schema;
}
