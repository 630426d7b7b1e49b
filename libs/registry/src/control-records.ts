import { checkAcl, checkBootstrapKey, checkDescription, parseHostName } from "./control-input.js";
import type { AuthtokenChanges, CreatedApiKey, CreatedAuthtoken, NewApiKey, NewAuthtoken, NewReservedDomain } from "./control-store.js";
import { API_KEY_SECRET_PREFIX, AUTHTOKEN_SECRET_PREFIX, hashSecret, newSecret, randomObjectId, shownPrefix } from "./control-secrets.js";
import type { ApiKeyRecord, AuthtokenRecord, ReservedDomainRecord } from "./records.js";

/**
 * The records the control store writes, built from checked input: one place for both
 * implementations, so memory and etcd store the same JSON.
 */

export function newAuthtoken(input: NewAuthtoken): CreatedAuthtoken {
  const description = checkDescription(input.description);
  const acl = checkAcl(input.acl);
  const token = newSecret(AUTHTOKEN_SECRET_PREFIX);
  const record: AuthtokenRecord = {
    id: randomObjectId("tok_"),
    description,
    acl,
    token_hash: hashSecret(token),
    token_prefix: shownPrefix(token),
    created_at: new Date().toISOString(),
    ...(input.created_by === undefined ? {} : { created_by: input.created_by }),
  };
  return { record, token };
}

/** Checked before the token is read, so bad input is refused the same way whether or not the token exists. */
export function checkAuthtokenChanges(changes: AuthtokenChanges): AuthtokenChanges {
  return {
    ...(changes.description === undefined ? {} : { description: checkDescription(changes.description) }),
    ...(changes.acl === undefined ? {} : { acl: checkAcl(changes.acl) }),
  };
}

export function changedAuthtoken(record: AuthtokenRecord, checked: AuthtokenChanges): AuthtokenRecord {
  return { ...record, ...checked };
}

export function newReservedDomain(input: NewReservedDomain): ReservedDomainRecord {
  return { name: parseHostName(input.name, "name"), description: checkDescription(input.description), created_at: new Date().toISOString() };
}

export function newApiKey(input: NewApiKey): CreatedApiKey {
  const description = checkDescription(input.description);
  const key = newSecret(API_KEY_SECRET_PREFIX);
  return { record: { id: randomObjectId("key_"), description, key_hash: hashSecret(key), created_at: new Date().toISOString() }, key };
}

/** The record for an operator's `--api-key`; its id is a function of the secret, so every replica writes the same key. */
export function bootstrapApiKey(secret: string): ApiKeyRecord {
  const keyHash = hashSecret(checkBootstrapKey(secret));
  return {
    id: `key_${hashSecret(`bootstrap ${keyHash}`).slice(0, 20)}`,
    description: "bootstrap key (onramp registry --api-key)",
    key_hash: keyHash,
    created_at: new Date().toISOString(),
  };
}
