import { ErrorCode, OnrampError } from "@onramp/errors";
import { createMemoryControlStore, type ControlStore } from "@onramp/registry";
import { describe, expect, it } from "vitest";
import { createApiKeyAuth } from "./api-key-auth.js";

/** A memory store that counts how often keys are read, and can be made to fail as an unreachable etcd does. */
function countingStore() {
  const store = createMemoryControlStore();
  const counts = { reads: 0, down: false };
  const counted: ControlStore = {
    ...store,
    async verifyApiKey(secret) {
      counts.reads++;
      if (counts.down) throw new OnrampError(ErrorCode.RegistryUnavailable, "etcd did not answer");
      return store.verifyApiKey(secret);
    },
  };
  return { store: counted, counts };
}

const LONG = 60_000;

describe("API key verification", () => {
  it("reads the store once for concurrent and repeated checks of a valid key while it is cached", async () => {
    const { store, counts } = countingStore();
    const { record, key } = await store.createApiKey({});
    const auth = createApiKeyAuth(store, LONG, "");
    const results = await Promise.all(Array.from({ length: 5 }, () => auth.authenticate(`Bearer ${key}`)));
    expect(results.map((r) => r.id)).toEqual(Array(5).fill(record.id));
    await auth.authenticate(`bearer  ${key}`);
    expect(counts.reads).toBe(1);
  });

  it("reads the store again once a key is forgotten (revoked here), and on every check with no cache", async () => {
    const { store, counts } = countingStore();
    const { record, key } = await store.createApiKey({});
    const auth = createApiKeyAuth(store, LONG, "");
    await auth.authenticate(`Bearer ${key}`);
    await store.revokeApiKey(record.id);
    await auth.authenticate(`Bearer ${key}`); // cached: the revocation came through another process
    auth.forget(record.id);
    await expect(auth.authenticate(`Bearer ${key}`)).rejects.toMatchObject({ code: ErrorCode.Unauthorized });
    expect(counts.reads).toBe(2);

    const uncached = createApiKeyAuth(store, 0, "");
    const other = await store.createApiKey({});
    await uncached.authenticate(`Bearer ${other.key}`);
    await uncached.authenticate(`Bearer ${other.key}`);
    expect(counts.reads).toBe(4);
  });

  it("never caches a refusal or a failure: a key made meanwhile works, and an outage is not a 401", async () => {
    const { store, counts } = countingStore();
    const auth = createApiKeyAuth(store, LONG, "; configure one");
    const refused = await auth.authenticate("Bearer onrapi_nope").then(
      () => undefined,
      (err: OnrampError) => err,
    );
    expect(refused).toMatchObject({ code: ErrorCode.Unauthorized, message: expect.stringMatching(/not valid.*; configure one$/) });
    expect(refused!.message).not.toContain("onrapi_nope");
    await expect(auth.authenticate("Bearer onrapi_nope")).rejects.toMatchObject({ code: ErrorCode.Unauthorized });
    expect(counts.reads).toBe(2);

    const { key } = await store.createApiKey({});
    counts.down = true;
    await expect(auth.authenticate(`Bearer ${key}`)).rejects.toMatchObject({ code: ErrorCode.RegistryUnavailable });
    counts.down = false;
    expect((await auth.authenticate(`Bearer ${key}`)).key_hash).toBeDefined();
  });

  it("refuses a missing or malformed header without reading the store", async () => {
    const { store, counts } = countingStore();
    const auth = createApiKeyAuth(store, LONG, "");
    for (const header of [undefined, "", "Bearer", "Bearer a b", "Basic abc", "Token abc"]) {
      await expect(auth.authenticate(header)).rejects.toMatchObject({ code: ErrorCode.Unauthorized });
    }
    expect(counts.reads).toBe(0);
  });
});
