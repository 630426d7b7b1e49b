import { createHash } from "node:crypto";
import type { BindingRecord } from "./records.js";

/**
 * The key schema. Versioned (`/onramp/v1/`) so a format can change safely: a v2 edge would write
 * beside v1 ones instead of misreading them.
 *
 *   /onramp/v1/edges/<edge id>                                   EdgeRecord        (edge lease)
 *   /onramp/v1/sessions/<edge id>/<session id>                   SessionRecord     (edge lease)
 *   /onramp/v1/bindings/<host>/solo/<agent id>/<edge id>         BindingRecord     (edge lease)
 *   /onramp/v1/bindings/<host>/pool-<policy hash>/<agent id>/<edge id>
 *   /onramp/v1/cloud-endpoints/<host>                            CloudEndpointRecord (durable)
 *   /onramp/v1/access/authtokens/<token id>                      AuthtokenRecord   (durable)
 *   /onramp/v1/access/domains/<name>                             ReservedDomainRecord (durable)
 *   /onramp/v1/api-keys/<key id>                                 ApiKeyRecord      (durable)
 *
 * Bindings are grouped by host and then by *mode*, so the conflict rules are key ranges: a
 * non-pooled bind by agent X may exist only if every key under `<host>/` is X's own
 * (`<host>/solo/X/…`); a pooled bind with policy hash H only if every key is under
 * `<host>/pool-H/`. An etcd transaction checks "no key outside that range" with two range
 * compares, so two edges can never both win a claim.
 *
 * Authtokens are keyed by id, not by the hash of their secret: the API names a token by id (get,
 * update, revoke) and the hash never leaves the registry. An edge checks a secret against a map
 * hash → token that it keeps from `watchAccess` (access-index.ts), so the session hello costs no
 * etcd round trip. Authtokens and reserved domains share the `access/` prefix so that this watch,
 * which every edge keeps, is one key range holding nothing else: side by side at the top level
 * they would span `bindings/`, and carry every bind and unbind. API keys sit outside it: only the
 * registry API reads them.
 */
export const PREFIX = "/onramp/v1/";
export const EDGES = `${PREFIX}edges/`;
export const SESSIONS = `${PREFIX}sessions/`;
export const BINDINGS = `${PREFIX}bindings/`;
export const CLOUD_ENDPOINTS = `${PREFIX}cloud-endpoints/`;
/** What an edge needs to admit an agent and a bind: authtokens and reserved domains. */
export const ACCESS = `${PREFIX}access/`;
export const AUTHTOKENS = `${ACCESS}authtokens/`;
export const DOMAINS = `${ACCESS}domains/`;
export const API_KEYS = `${PREFIX}api-keys/`;

/** Hash of a traffic policy text: "" for no policy, else 16 hex chars of SHA-256. */
export function policyHash(text: string): string {
  const trimmed = text.trim();
  return trimmed ? createHash("sha256").update(trimmed).digest("hex").slice(0, 16) : "";
}

/** `solo` or `pool-<hash>` (`pool-none` for a pool without a policy). */
export function bindingMode(b: Pick<BindingRecord, "pooling" | "policy_hash">): string {
  return b.pooling ? `pool-${b.policy_hash || "none"}` : "solo";
}

export function hostPrefix(host: string): string {
  return `${BINDINGS}${host}/`;
}

export function bindingKey(b: Pick<BindingRecord, "host" | "pooling" | "policy_hash" | "agent_id" | "edge">): string {
  return `${hostPrefix(b.host)}${bindingMode(b)}/${b.agent_id}/${b.edge}`;
}

/**
 * The key range a new binding may share its host with, as [start, end): an agent's own solo
 * bindings (on any edge), or the members of the pool with the same policy.
 */
export function compatibleRange(b: Pick<BindingRecord, "host" | "pooling" | "policy_hash" | "agent_id">): [string, string] {
  const start = b.pooling ? `${hostPrefix(b.host)}${bindingMode(b)}/` : `${hostPrefix(b.host)}solo/${b.agent_id}/`;
  return [start, prefixEnd(start)];
}

/** The first key after every key that starts with `prefix` (etcd's range_end for a prefix). */
export function prefixEnd(prefix: string): string {
  const buf = Buffer.from(prefix);
  for (let i = buf.length - 1; i >= 0; i--) {
    if (buf[i]! < 0xff) {
      buf[i] = buf[i]! + 1;
      return buf.subarray(0, i + 1).toString();
    }
  }
  return "\0";
}

export function cloudEndpointKey(host: string): string {
  return `${CLOUD_ENDPOINTS}${host}`;
}

export function authtokenKey(id: string): string {
  return `${AUTHTOKENS}${id}`;
}

/** `name` is a normalised host or wildcard (`*.example.com`); `*` is an ordinary byte in a key. */
export function domainKey(name: string): string {
  return `${DOMAINS}${name}`;
}

export function apiKeyKey(id: string): string {
  return `${API_KEYS}${id}`;
}

export function edgeKey(id: string): string {
  return `${EDGES}${id}`;
}

export function sessionKey(edge: string, id: string): string {
  return `${SESSIONS}${edge}/${id}`;
}

/**
 * Ids become key segments: letters, digits and `._:@-` only, 1–128 chars, so no id can escape
 * its segment with a `/`.
 */
export function isValidId(id: string): boolean {
  return /^[A-Za-z0-9._:@-]{1,128}$/.test(id);
}
