import { ErrorCode, OnrampError } from "@onramp/errors";
import { hashSecret, type ApiKeyRecord, type ControlStore } from "@onramp/registry";

/**
 * Bounds the cache: more distinct valid keys in one second than any operator has; past it, the
 * oldest entries go first.
 */
const MAX_CACHED_KEYS = 1_000;

/** A check of one key: under way until `verifiedAt` is set (the store said the key is valid, with this id). */
interface CacheEntry {
  readonly result: Promise<ApiKeyRecord | undefined>;
  verifiedAt?: number;
  id?: string;
}

export interface ApiKeyAuth {
  /** The key the `Authorization` header carries; UNAUTHORIZED when there is none or it is not valid. */
  authenticate(authorization: string | undefined): Promise<ApiKeyRecord>;
  /** Forgets a revoked key at once (in this process; others find out within `cacheMs`). */
  forget(id: string): void;
}

/**
 * Verifies API keys against the store, which reads every key on each call (etcd, for a mesh).
 * A valid key is trusted for `cacheMs` after it was verified, by its hash, and concurrent checks
 * of one key share one read. So a key revoked through another process stays usable here for up
 * to `cacheMs`. Invalid keys are not cached: a key created elsewhere works at once.
 * `hint` is added to every refusal (how to configure a key, when none was).
 */
export function createApiKeyAuth(store: ControlStore, cacheMs: number, hint: string): ApiKeyAuth {
  const cache = new Map<string, CacheEntry>(); // by the key's hash

  const verify = (secret: string): Promise<ApiKeyRecord | undefined> => {
    // Looked up by hash, so no secret is kept; a Map lookup's timing says nothing about the secret.
    const hash = hashSecret(secret);
    const now = performance.now();
    const hit = cache.get(hash);
    if (hit && (hit.verifiedAt === undefined || now - hit.verifiedAt < cacheMs)) return hit.result;
    const entry: CacheEntry = { result: store.verifyApiKey(secret) };
    cache.delete(hash);
    cache.set(hash, entry);
    if (cache.size > MAX_CACHED_KEYS) cache.delete(cache.keys().next().value!);
    entry.result.then(
      (record) => {
        if (record && cacheMs > 0) {
          entry.verifiedAt = performance.now();
          entry.id = record.id;
        } else if (cache.get(hash) === entry) cache.delete(hash);
      },
      () => {
        if (cache.get(hash) === entry) cache.delete(hash);
      },
    );
    return entry.result;
  };

  return {
    async authenticate(authorization) {
      const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? "");
      if (!authorization) throw refusal(`this API needs an API key: send Authorization: Bearer <key>${hint}`);
      if (!match) throw refusal(`the Authorization header must be Bearer <API key>${hint}`);
      const record = await verify(match[1]!);
      if (!record) throw refusal(`the API key is not valid (revoked, mistyped, or from another mesh)${hint}`);
      return record;
    },

    forget(id) {
      // Checks under way too: one may have read the key before it was revoked.
      for (const [hash, entry] of cache) if (entry.id === id || entry.verifiedAt === undefined) cache.delete(hash);
    },
  };
}

function refusal(message: string): OnrampError {
  return new OnrampError(ErrorCode.Unauthorized, message);
}
