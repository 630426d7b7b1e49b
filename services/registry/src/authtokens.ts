import { ErrorCode, OnrampError } from "@onramp/errors";
import { parseAclRule, type AuthtokenRecord } from "@onramp/registry";
import { invalidField, onlyFields, optionalString, optionalStringList, pathId } from "./input.js";
import { listReply, pageRequestOf } from "./pagination.js";
import { created, noContent, ok, ref, type JsonSchema, type Route } from "./route.js";
import { description, listOf, object, timestamp, uri } from "./schemas.js";

/** `/v1/authtokens`: the credentials agents connect with. */

const TAG = "authtokens";
const ID = { id: "The authtoken's id (`tok_…`)." };

const acl: JsonSchema = {
  type: "array",
  maxItems: 100,
  items: { type: "string", maxLength: 253, examples: ["bind:*.example.com"] },
  description:
    "What the token may bind: `bind:<host>`, `bind:*.<domain>` (any name below it) or `bind:*`. None: random URLs only. At most 100 rules.",
};

const fields: Record<string, JsonSchema> = {
  id: { type: "string", pattern: "^tok_[a-z0-9]+$" },
  uri,
  description,
  acl,
  token_prefix: { type: "string", description: "The secret's first characters, to tell tokens apart." },
  created_at: timestamp,
};

export const authtokenSchemas: Record<string, JsonSchema> = {
  Authtoken: object(fields),
  AuthtokenCreated: object({
    ...fields,
    token: { type: "string", description: "The secret agents present. Shown in this answer only: it is stored as a hash." },
  }),
  AuthtokenInput: object({ description, acl }, []),
  AuthtokenList: listOf("authtokens", ref("Authtoken"), true),
};

const FIELDS = ["description", "acl"];

function view(record: AuthtokenRecord) {
  const { id, description, acl, token_prefix, created_at } = record;
  return { id, uri: `/v1/authtokens/${id}`, description, acl, token_prefix, created_at };
}

/** The rules as the store will keep them (trimmed), each one checked by the edge's own parser. */
function checkedAcl(body: Record<string, unknown>): string[] | undefined {
  return optionalStringList(body, "acl")?.map((rule, i) => {
    const trimmed = rule.trim();
    if (trimmed === "") throw invalidField(`acl[${i}]`, "is empty");
    try {
      parseAclRule(trimmed);
    } catch (err) {
      throw new OnrampError(ErrorCode.InvalidArgument, `acl[${i}]: ${(err as Error).message}`);
    }
    return trimmed;
  });
}

function changes(body: Record<string, unknown>) {
  onlyFields(body, FIELDS);
  const text = optionalString(body, "description");
  const rules = checkedAcl(body);
  return { ...(text === undefined ? {} : { description: text }), ...(rules === undefined ? {} : { acl: rules }) };
}

export const authtokenRoutes: Route[] = [
  {
    method: "POST",
    base: "/v1",
    path: "/authtokens",
    doc: {
      operationId: "createAuthtoken",
      tag: TAG,
      summary: "Create an authtoken",
      description: "The answer holds the secret (`token`); it is never shown again.",
      body: ref("AuthtokenInput"),
      response: { status: 201, description: "The new authtoken, with its secret.", schema: ref("AuthtokenCreated") },
    },
    async handle(request) {
      const input = changes(await request.body());
      const { record, token } = await request.store.createAuthtoken({ ...input, ...(request.caller ? { created_by: request.caller.id } : {}) });
      return created({ ...view(record), token });
    },
  },
  {
    method: "GET",
    base: "/v1",
    path: "/authtokens",
    doc: {
      operationId: "listAuthtokens",
      tag: TAG,
      summary: "List authtokens",
      paginated: true,
      response: { status: 200, description: "One page of authtokens, by id.", schema: ref("AuthtokenList") },
    },
    async handle(request) {
      const page = pageRequestOf(request.query);
      return listReply("authtokens", await request.store.listAuthtokens(page), page.limit, view);
    },
  },
  {
    method: "GET",
    base: "/v1",
    path: "/authtokens/{id}",
    doc: {
      operationId: "getAuthtoken",
      tag: TAG,
      summary: "Get an authtoken",
      params: ID,
      response: { status: 200, description: "The authtoken.", schema: ref("Authtoken") },
    },
    async handle(request) {
      return ok(view(await request.store.getAuthtoken(pathId(request.params.id, "tok_", "authtoken"))));
    },
  },
  {
    method: "PATCH",
    base: "/v1",
    path: "/authtokens/{id}",
    doc: {
      operationId: "updateAuthtoken",
      tag: TAG,
      summary: "Update an authtoken",
      description: "Changes the fields given and keeps the others.",
      params: ID,
      body: ref("AuthtokenInput"),
      response: { status: 200, description: "The authtoken as changed.", schema: ref("Authtoken") },
    },
    async handle(request) {
      const id = pathId(request.params.id, "tok_", "authtoken");
      return ok(view(await request.store.updateAuthtoken(id, changes(await request.body()))));
    },
  },
  {
    method: "DELETE",
    base: "/v1",
    path: "/authtokens/{id}",
    doc: {
      operationId: "revokeAuthtoken",
      tag: TAG,
      summary: "Revoke an authtoken",
      description: "Edges refuse the token from then on and disconnect its sessions within a second.",
      params: ID,
      response: { status: 204, description: "Revoked." },
    },
    async handle(request) {
      await request.store.revokeAuthtoken(pathId(request.params.id, "tok_", "authtoken"));
      return noContent();
    },
  },
];
