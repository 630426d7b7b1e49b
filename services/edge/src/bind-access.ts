import { ErrorCode, OnrampError } from "@onramp/errors";
import { allowsBind, parseAclRule, reservedBy, type AclRule, type AuthtokenRecord } from "@onramp/registry";
import { createHash } from "node:crypto";
import type { EndpointUrl } from "./endpoint-url.js";

/**
 * Who an agent session authenticated as, which decides what it may bind:
 * - `bootstrap`: one of the edge's `--authtoken` tokens, or any token under `--allow-any-token`.
 *   Any URL but a reserved domain's, as before the registry held tokens.
 * - `authtoken`: a registry token, as its record is now (an update replaces it). Random URLs,
 *   and the hosts its ACL allows, reserved ones included.
 */
export type Credential = { readonly kind: "bootstrap" } | { readonly kind: "authtoken"; readonly token: AuthtokenRecord };

/** How a session authenticated, for logs: the registry token's id, or `bootstrap`. */
export function authOf(credential: Credential): string {
  return credential.kind === "authtoken" ? credential.token.id : "bootstrap";
}

/**
 * Why `credential` may not bind `url`, as a BIND_DENIED error naming the URL and the rule or
 * reservation in the way; undefined when it may. `random`: the edge picked the URL (see
 * `derivedLabel`), which a registry token may bind without a rule, as acl.ts leaves to the edge.
 * Reservations hold for random URLs too: a reserved name is nobody's to be handed by chance.
 */
export function bindDenial(credential: Credential, url: EndpointUrl, random: boolean, reserved: readonly string[]): OnrampError | undefined {
  const reservation = reservedBy(reserved, url.host);
  if (credential.kind === "bootstrap") {
    if (!reservation) return undefined;
    return denied(url, `${url.host} is under the reserved domain ${reservation}, which only a registry authtoken whose ACL allows it may bind, not an edge's --authtoken`);
  }
  if (random && !reservation) return undefined;
  const decision = allowsBind(rulesOf(credential.token), url.host);
  if (decision.allowed) return undefined;
  return denied(url, reservation ? `${url.host} is under the reserved domain ${reservation}, and ${decision.reason}` : decision.reason);
}

/**
 * The label of the random URL the edge picks for a registry token's bind: derived from the token
 * id, the bind id and the attempt, not drawn. An agent binds the URL its first edge picked on
 * every other edge and after every reconnect, naming it explicitly; any edge can then tell it was
 * picked for that bind by deriving it again, with no state shared. Claiming a chosen name this
 * way would take a bind id whose SHA-256 starts with it: 10 base-36 characters, about 2^51 tries.
 */
export function derivedLabel(tokenId: string, bindId: string, attempt: number): string {
  const digest = createHash("sha256").update(`onramp-random-url\0${tokenId}\0${bindId}\0${attempt}`).digest();
  return digest.readBigUInt64BE(0).toString(36).padStart(10, "0").slice(-10);
}

/** Rules parsed once per token record; a record is replaced, never changed, when its token is updated. */
const parsed = new WeakMap<AuthtokenRecord, AclRule[]>();

/**
 * The token's rules. The registry validated them when they were written; one this edge cannot
 * parse (written by a newer version) allows nothing here rather than failing the whole token.
 */
function rulesOf(token: AuthtokenRecord): AclRule[] {
  let rules = parsed.get(token);
  if (!rules) {
    rules = [];
    for (const text of token.acl) {
      try {
        rules.push(parseAclRule(text));
      } catch {
        // Skipped: see above.
      }
    }
    parsed.set(token, rules);
  }
  return rules;
}

function denied(url: EndpointUrl, why: string): OnrampError {
  return new OnrampError(ErrorCode.BindDenied, `binding ${url.url} is denied: ${why}`);
}
