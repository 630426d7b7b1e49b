import type { OnrampError } from "@onramp/errors";
import type { ApiKeyRecord, ControlStore } from "@onramp/registry";
import type { MeshObserver } from "./mesh-observer.js";

/**
 * One row of the route table: what the router matches, what the handler does, and what the
 * OpenAPI document says about it. The document is generated from these rows (openapi.ts), so a
 * route cannot exist without its description, nor a description without its route.
 */
export interface Route {
  readonly method: Method;
  /** `/v1` for the API proper; "" for `/openapi.json` and `/healthz`, which live at the root. */
  readonly base: "/v1" | "";
  /** Template relative to `base`; `{name}` matches one path segment (percent-decoded): `/authtokens/{id}`. */
  readonly path: string;
  /** Served without an API key. */
  readonly public?: boolean;
  readonly doc: OperationDoc;
  handle(request: ApiRequest): Promise<Reply> | Reply;
}

export type Method = "GET" | "POST" | "PATCH" | "DELETE";

/** A JSON Schema (2020-12, as OpenAPI 3.1 uses it). */
export type JsonSchema = { readonly [keyword: string]: unknown };

export interface OperationDoc {
  readonly operationId: string;
  readonly tag: string;
  readonly summary: string;
  readonly description?: string;
  /** Path parameters by name. */
  readonly params?: Readonly<Record<string, string>>;
  /** The JSON body a POST or PATCH takes; its top-level property names are the fields `details.field` may name. */
  readonly body?: JsonSchema;
  /** Takes `limit` and `cursor` and answers with `next_page_uri`. */
  readonly paginated?: boolean;
  readonly response: { readonly status: 200 | 201 | 204; readonly description: string; readonly schema?: JsonSchema };
  /** Error statuses particular to this operation; those every operation shares are added by openapi.ts. */
  readonly errors?: readonly ErrorStatus[];
}

/** The statuses of the contract's error list that an operation can document. */
export type ErrorStatus = 400 | 401 | 404 | 409 | 413 | 422 | 503;

/** What a handler gets: the matched parameters, the query, the body on demand and the store. */
export interface ApiRequest {
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** The JSON body, which must be an object; `{}` when the request has none. Read once, capped at `maxBodyBytes`. */
  body(): Promise<Record<string, unknown>>;
  /** The key the request was made with; undefined on public routes. */
  readonly caller: ApiKeyRecord | undefined;
  readonly store: ControlStore;
  /** What the API heard on the mesh's bus: heartbeats and members' health (nothing without a bus). */
  readonly mesh: MeshObserver;
  /** Drops a key from the verification cache: a revocation through this API takes effect at once here. */
  forgetApiKey(id: string): void;
  /** The OpenAPI document of this API. */
  openapi(): object;
}

/**
 * What a handler answers. Failures are usually thrown (an `OnrampError`); a handler returns one
 * when it has structured details to add, as a policy's problems with their positions.
 */
export type Reply =
  | { readonly kind: "json"; readonly status: 200 | 201; readonly body: unknown }
  | { readonly kind: "empty"; readonly status: 204 }
  | { readonly kind: "error"; readonly error: OnrampError; readonly status?: number; readonly details?: Readonly<Record<string, unknown>> };

export const ok = (body: unknown): Reply => ({ kind: "json", status: 200, body });
export const created = (body: unknown): Reply => ({ kind: "json", status: 201, body });
export const noContent = (): Reply => ({ kind: "empty", status: 204 });

/** `$ref` to a schema under `components.schemas`. */
export const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
