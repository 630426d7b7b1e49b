import type { ApiKeyRecord } from "@onramp/registry";
import { onlyFields, optionalString, pathId } from "./input.js";
import { listReply, pageRequestOf } from "./pagination.js";
import { created, noContent, ref, type JsonSchema, type Route } from "./route.js";
import { description, listOf, object, timestamp, uri } from "./schemas.js";

/** `/v1/api_keys`: the credentials of this API. */

const TAG = "api_keys";

const fields: Record<string, JsonSchema> = {
  id: { type: "string", pattern: "^key_[a-z0-9]+$" },
  uri,
  description,
  created_at: timestamp,
};

export const apiKeySchemas: Record<string, JsonSchema> = {
  ApiKey: object(fields),
  ApiKeyCreated: object({
    ...fields,
    key: { type: "string", description: "The secret for `Authorization: Bearer …`. Shown in this answer only: it is stored as a hash." },
  }),
  ApiKeyInput: object({ description }, []),
  ApiKeyList: listOf("api_keys", ref("ApiKey"), true),
};

function view(record: ApiKeyRecord) {
  return { id: record.id, uri: `/v1/api_keys/${record.id}`, description: record.description, created_at: record.created_at };
}

export const apiKeyRoutes: Route[] = [
  {
    method: "POST",
    base: "/v1",
    path: "/api_keys",
    doc: {
      operationId: "createApiKey",
      tag: TAG,
      summary: "Create an API key",
      description: "The answer holds the secret (`key`); it is never shown again.",
      body: ref("ApiKeyInput"),
      response: { status: 201, description: "The new key, with its secret.", schema: ref("ApiKeyCreated") },
    },
    async handle(request) {
      const body = await request.body();
      onlyFields(body, ["description"]);
      const text = optionalString(body, "description");
      const { record, key } = await request.store.createApiKey(text === undefined ? {} : { description: text });
      return created({ ...view(record), key });
    },
  },
  {
    method: "GET",
    base: "/v1",
    path: "/api_keys",
    doc: {
      operationId: "listApiKeys",
      tag: TAG,
      summary: "List API keys",
      paginated: true,
      response: { status: 200, description: "One page of keys, by id.", schema: ref("ApiKeyList") },
    },
    async handle(request) {
      const page = pageRequestOf(request.query);
      return listReply("api_keys", await request.store.listApiKeys(page), page.limit, view);
    },
  },
  {
    method: "DELETE",
    base: "/v1",
    path: "/api_keys/{id}",
    doc: {
      operationId: "revokeApiKey",
      tag: TAG,
      summary: "Revoke an API key",
      description:
        "Refused at once by the API process that revoked it; other processes serving this API may accept it for up to a second more (they cache verified keys that long).",
      params: { id: "The key's id (`key_…`)." },
      response: { status: 204, description: "Revoked." },
    },
    async handle(request) {
      const id = pathId(request.params.id, "key_", "API key");
      await request.store.revokeApiKey(id);
      request.forgetApiKey(id);
      return noContent();
    },
  },
];
