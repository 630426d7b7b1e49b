import { ErrorCode, OnrampError } from "@onramp/errors";
import type { ReservedDomainRecord } from "@onramp/registry";
import { onlyFields, optionalString, requiredString } from "./input.js";
import { listReply, pageRequestOf } from "./pagination.js";
import { created, noContent, ok, ref, type JsonSchema, type Route } from "./route.js";
import { description, listOf, object, timestamp, uri } from "./schemas.js";

/** `/v1/reserved_domains`: names only tokens whose ACL allows them may bind. The id is the name. */

const TAG = "reserved_domains";
const ID = { id: "The domain name, percent-encoded: `*.example.com` is `%2A.example.com`." };

const name: JsonSchema = {
  type: "string",
  maxLength: 253,
  examples: ["app.example.com", "*.example.com"],
  description: "A hostname or a wildcard; stored lowercase without a trailing dot.",
};

export const reservedDomainSchemas: Record<string, JsonSchema> = {
  ReservedDomain: object({ id: { type: "string", description: "The name." }, uri, name, description, created_at: timestamp }),
  ReservedDomainInput: object({ name, description }, ["name"]),
  ReservedDomainList: listOf("reserved_domains", ref("ReservedDomain"), true),
};

/** encodeURIComponent leaves `*` alone; the contract encodes it, so a wildcard's URI is unambiguous to every client. */
const encodedName = (name: string) => encodeURIComponent(name).replace(/\*/g, "%2A");

function view(record: ReservedDomainRecord) {
  return { id: record.name, uri: `/v1/reserved_domains/${encodedName(record.name)}`, name: record.name, description: record.description, created_at: record.created_at };
}

/**
 * A path id the store cannot read as a name names nothing: NOT_FOUND, not repeating it. The
 * store's only other input here is the name, so its INVALID_ARGUMENT is about this one.
 */
async function byName<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof OnrampError && err.code === ErrorCode.InvalidArgument) {
      throw new OnrampError(ErrorCode.NotFound, "no reserved domain has this id: it is not a hostname or a wildcard like *.example.com");
    }
    throw err;
  }
}

export const reservedDomainRoutes: Route[] = [
  {
    method: "POST",
    base: "/v1",
    path: "/reserved_domains",
    doc: {
      operationId: "reserveDomain",
      tag: TAG,
      summary: "Reserve a domain",
      description: "From then on only authtokens whose ACL allows the name bind it (or names below it).",
      body: ref("ReservedDomainInput"),
      response: { status: 201, description: "The reservation.", schema: ref("ReservedDomain") },
      errors: [409],
    },
    async handle(request) {
      const body = await request.body();
      onlyFields(body, ["name", "description"]);
      const text = optionalString(body, "description");
      const record = await request.store.reserveDomain({ name: requiredString(body, "name"), ...(text === undefined ? {} : { description: text }) });
      return created(view(record));
    },
  },
  {
    method: "GET",
    base: "/v1",
    path: "/reserved_domains",
    doc: {
      operationId: "listReservedDomains",
      tag: TAG,
      summary: "List reserved domains",
      paginated: true,
      response: { status: 200, description: "One page of reservations, by name.", schema: ref("ReservedDomainList") },
    },
    async handle(request) {
      const page = pageRequestOf(request.query);
      return listReply("reserved_domains", await request.store.listDomains(page), page.limit, view);
    },
  },
  {
    method: "GET",
    base: "/v1",
    path: "/reserved_domains/{id}",
    doc: {
      operationId: "getReservedDomain",
      tag: TAG,
      summary: "Get a reserved domain",
      params: ID,
      response: { status: 200, description: "The reservation.", schema: ref("ReservedDomain") },
    },
    async handle(request) {
      return ok(view(await byName(() => request.store.getDomain(request.params.id!))));
    },
  },
  {
    method: "DELETE",
    base: "/v1",
    path: "/reserved_domains/{id}",
    doc: {
      operationId: "releaseReservedDomain",
      tag: TAG,
      summary: "Release a reserved domain",
      params: ID,
      response: { status: 204, description: "Released." },
    },
    async handle(request) {
      await byName(() => request.store.releaseDomain(request.params.id!));
      return noContent();
    },
  },
];
