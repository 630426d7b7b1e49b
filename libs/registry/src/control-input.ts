import { ErrorCode, OnrampError } from "@onramp/errors";
import type { PageRequest } from "./control-store.js";

/** ngrok's limit for descriptions, so a description copied from ngrok fits. */
const MAX_DESCRIPTION = 255;
/** A rule names at most a hostname (253 characters, RFC 1035) after its `bind:`. */
const MAX_ACL_RULE = 253;
/** More rules than an operator can review; also bounds what every edge holds per token. */
const MAX_ACL_RULES = 100;
const DEFAULT_PAGE_LIMIT = 100;
/** Bounds one etcd response and one API answer. */
const MAX_PAGE_LIMIT = 1_000;

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

export function invalid(field: string, problem: string): OnrampError {
  return new OnrampError(ErrorCode.InvalidArgument, `${field} ${problem}`);
}

export function notFound(what: string, name: string): OnrampError {
  return new OnrampError(ErrorCode.NotFound, `${what} ${name} does not exist`);
}

export function alreadyReserved(name: string): OnrampError {
  return new OnrampError(ErrorCode.AlreadyExists, `${name} is already reserved; release it first to reserve it again`);
}

/** Absent means "". */
export function checkDescription(value: unknown): string {
  if (value === undefined) return "";
  if (typeof value !== "string") throw invalid("description", "must be a string");
  const length = [...value].length;
  if (length > MAX_DESCRIPTION) throw invalid("description", `is ${length} characters long; at most ${MAX_DESCRIPTION} are allowed`);
  return value;
}

/**
 * ACL rules, trimmed. Only their shape is checked here; their syntax (`bind:<host or wildcard>`)
 * is acl.ts's to judge. Absent means none: the token may bind random URLs only.
 */
export function checkAcl(value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalid("acl", "must be a list of rules like bind:*.example.com");
  if (value.length > MAX_ACL_RULES) throw invalid("acl", `has ${value.length} rules; at most ${MAX_ACL_RULES} are allowed`);
  return value.map((rule: unknown, i) => {
    if (typeof rule !== "string") throw invalid(`acl[${i}]`, "must be a string like bind:*.example.com");
    const trimmed = rule.trim();
    if (!trimmed) throw invalid(`acl[${i}]`, "is empty");
    if (trimmed.length > MAX_ACL_RULE) throw invalid(`acl[${i}]`, `is ${trimmed.length} characters long; at most ${MAX_ACL_RULE} are allowed`);
    return trimmed;
  });
}

/**
 * A hostname or a wildcard (`*.example.com`), lowercased and without a trailing dot: the rule the
 * edge applies to the host of a bind URL (services/edge endpoint-url.ts), so anything reserved
 * here is something an agent could bind, and the two compare as equal strings.
 */
export function parseHostName(value: unknown, field: string): string {
  if (typeof value !== "string") throw invalid(field, "must be a string");
  const name = value.trim().toLowerCase().replace(/\.$/, "");
  const wildcard = name.startsWith("*.");
  const labels = (wildcard ? name.slice(2) : name).split(".");
  if (name.length > 253 || !labels.every((label) => LABEL.test(label))) {
    throw invalid(field, `${JSON.stringify(value)} is not a hostname (like app.example.com) or a wildcard (like *.example.com)`);
  }
  if (wildcard && labels.length < 2) throw invalid(field, `${JSON.stringify(value)}: a wildcard needs a domain below it, like *.example.com`);
  return name;
}

/** Ids the store hands out: `prefix` and letters, digits or `_` (so an id can never leave its key segment). */
export function checkObjectId(value: unknown, prefix: "tok_" | "key_", what: string): string {
  if (typeof value !== "string" || !value.startsWith(prefix) || !/^[a-z0-9_]{5,128}$/.test(value)) {
    throw invalid(`${what} id`, `${JSON.stringify(value)} is not an id (${prefix} followed by letters and digits)`);
  }
  return value;
}

/**
 * A bootstrap API key is the operator's choice, short ones included (a test rig's `k3y`); the CLI
 * warns below 16 characters, since a short key can be guessed from its SHA-256.
 */
export function checkBootstrapKey(secret: unknown): string {
  if (typeof secret !== "string" || secret.trim() !== secret || secret.length === 0) {
    throw invalid("api key", "must be a non-empty string without surrounding spaces (generate one with: openssl rand -hex 32)");
  }
  return secret;
}

/** A page request with defaults filled in; `after` is the last key of the previous page. */
export interface ResolvedPageRequest {
  readonly limit: number;
  readonly after: string | undefined;
}

/**
 * Checks `limit` (1–1000, default 100) and decodes `cursor`, which must be one a list of the
 * collection under `prefix` returned.
 */
export function resolvePageRequest(page: PageRequest | undefined, prefix: string): ResolvedPageRequest {
  const limit = page?.limit ?? DEFAULT_PAGE_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
    throw invalid("limit", `must be a whole number from 1 to ${MAX_PAGE_LIMIT}, got ${String(limit)}`);
  }
  const cursor = page?.cursor;
  if (cursor === undefined || cursor === "") return { limit, after: undefined };
  const after = typeof cursor === "string" ? Buffer.from(cursor, "base64url").toString() : "";
  if (!after.startsWith(prefix) || encodeCursor(after) !== cursor) throw invalid("cursor", "is not a cursor this list returned");
  return { limit, after };
}

/**
 * The cursor after `lastKey`: the key itself, base64url, so a page starts right after it even when
 * the key was deleted meanwhile. Opaque to clients: the key layout may change.
 */
export function encodeCursor(lastKey: string): string {
  return Buffer.from(lastKey).toString("base64url");
}
