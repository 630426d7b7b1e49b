import { ok, ref, type JsonSchema, type Route } from "./route.js";
import { object } from "./schemas.js";

/** The two public paths, at the root rather than under `/v1`. */

const TAG = "meta";

export const metaSchemas: Record<string, JsonSchema> = {
  Health: object({ status: { const: "ok" } }),
};

export const metaRoutes: Route[] = [
  {
    method: "GET",
    base: "",
    path: "/openapi.json",
    public: true,
    doc: {
      operationId: "getOpenApiDocument",
      tag: TAG,
      summary: "This document",
      description: "Served without an API key.",
      response: { status: 200, description: "The OpenAPI 3.1 document of this API.", schema: { type: "object" } },
    },
    handle: (request) => ok(request.openapi()),
  },
  {
    method: "GET",
    base: "",
    path: "/healthz",
    public: true,
    doc: {
      operationId: "getHealth",
      tag: TAG,
      summary: "Liveness",
      description: "Served without an API key. Says the process answers; it does not ask the store.",
      response: { status: 200, description: "The API is up.", schema: ref("Health") },
    },
    handle: () => ok({ status: "ok" }),
  },
];
