import { ErrorCode, OnrampError } from "@onramp/errors";
import type { IKeyValue } from "etcd3";
import { alreadyReserved, checkObjectId, notFound, parseHostName, resolvePageRequest } from "./control-input.js";
import { bootstrapApiKey, changedAuthtoken, checkAuthtokenChanges, newApiKey, newAuthtoken, newReservedDomain } from "./control-records.js";
import { hashSecret, matchApiKey } from "./control-secrets.js";
import type { ControlStore } from "./control-store.js";
import { watchAccess } from "./etcd-access-watch.js";
import { createKey, decodeAuthtoken, decodeDomain, deleteKey, readKey, readPage, readPrefix, replaceKey } from "./etcd-control-kv.js";
import { createEtcdClient, decodeBinding, decodeCloudEndpoint, decodeEdge, parse, putCloudEndpointTxn, revisionOf } from "./etcd-kv.js";
import { resolveEtcdRegistryOptions, type EtcdRegistryOptions } from "./etcd-options.js";
import { API_KEYS, AUTHTOKENS, BINDINGS, CLOUD_ENDPOINTS, DOMAINS, EDGES, SESSIONS, apiKeyKey, authtokenKey, cloudEndpointKey, domainKey } from "./keys.js";
import type { ApiKeyRecord, AuthtokenRecord, SessionRecord } from "./records.js";
import type { RegistryWatch } from "./registry.js";

/**
 * How often an update of one authtoken is tried again when another write to it came first.
 * Each lost race means another update succeeded, so this only runs out under a flood of writes
 * to one token; the caller then gets a retryable REGISTRY_UNAVAILABLE.
 */
const UPDATE_ATTEMPTS = 10;

/**
 * The control store of a mesh: everything durable, in etcd, written without a lease. Writes are
 * single-key transactions (create if absent, replace if unchanged); cloud endpoints go through the
 * same transaction as `Registry.putCloudEndpoint`.
 */
export function createEtcdControlStore(options: EtcdRegistryOptions): ControlStore {
  const opts = resolveEtcdRegistryOptions(options);
  const client = createEtcdClient(opts);
  const watches = new Set<RegistryWatch>();
  let closing: Promise<void> | undefined;

  const readAuthtoken = async (id: string) => {
    const kv = await readKey(client, opts, authtokenKey(checkObjectId(id, "tok_", "authtoken")));
    const record = kv && parse<AuthtokenRecord>(kv);
    if (!kv || !record) throw notFound("authtoken", id);
    return { kv, record };
  };

  const apiKeys = async () => (await readPrefix(client, opts, API_KEYS)).map((kv) => parse<ApiKeyRecord>(kv)).filter((r) => r !== undefined);

  return {
    async createAuthtoken(input) {
      const created = newAuthtoken(input);
      const written = await createKey(client, opts, authtokenKey(created.record.id), JSON.stringify(created.record));
      // 100 random bits: a collision means the random source is broken, not bad luck.
      if (written === undefined) throw new OnrampError(ErrorCode.Internal, `authtoken id ${created.record.id} exists already`);
      return created;
    },

    async getAuthtoken(id) {
      return (await readAuthtoken(id)).record;
    },

    async listAuthtokens(page) {
      return readPage(client, opts, AUTHTOKENS, resolvePageRequest(page, AUTHTOKENS), (kv) => decodeAuthtoken(kv)?.authtoken);
    },

    async updateAuthtoken(id, changes) {
      const checked = checkAuthtokenChanges(changes);
      for (let attempt = 1; attempt <= UPDATE_ATTEMPTS; attempt++) {
        const { kv, record } = await readAuthtoken(id);
        const next = changedAuthtoken(record, checked);
        if ((await replaceKey(client, opts, kv.key.toString(), JSON.stringify(next), revisionOf(kv.mod_revision))) !== undefined) return next;
      }
      throw new OnrampError(ErrorCode.RegistryUnavailable, `authtoken ${id} kept changing while it was being updated; try again`);
    },

    async revokeAuthtoken(id) {
      if (!(await deleteKey(client, opts, authtokenKey(checkObjectId(id, "tok_", "authtoken"))))) throw notFound("authtoken", id);
    },

    async reserveDomain(input) {
      const record = newReservedDomain(input);
      if ((await createKey(client, opts, domainKey(record.name), JSON.stringify(record))) === undefined) throw alreadyReserved(record.name);
      return record;
    },

    async getDomain(name) {
      const kv = await readKey(client, opts, domainKey(parseHostName(name, "name")));
      const stored = kv && decodeDomain(kv);
      if (!stored) throw notFound("reserved domain", name);
      return stored.domain;
    },

    async listDomains(page) {
      return readPage(client, opts, DOMAINS, resolvePageRequest(page, DOMAINS), (kv) => decodeDomain(kv)?.domain);
    },

    async releaseDomain(name) {
      if (!(await deleteKey(client, opts, domainKey(parseHostName(name, "name"))))) throw notFound("reserved domain", name);
    },

    async createApiKey(input) {
      const created = newApiKey(input);
      const written = await createKey(client, opts, apiKeyKey(created.record.id), JSON.stringify(created.record));
      if (written === undefined) throw new OnrampError(ErrorCode.Internal, `API key id ${created.record.id} exists already`);
      return created;
    },

    async listApiKeys(page) {
      return readPage(client, opts, API_KEYS, resolvePageRequest(page, API_KEYS), (kv) => parse<ApiKeyRecord>(kv));
    },

    async revokeApiKey(id) {
      if (!(await deleteKey(client, opts, apiKeyKey(checkObjectId(id, "key_", "API key"))))) throw notFound("API key", id);
    },

    async verifyApiKey(secret) {
      if (typeof secret !== "string" || !secret) return undefined;
      return matchApiKey(await apiKeys(), hashSecret(secret));
    },

    async ensureBootstrapApiKey(secret) {
      const record = bootstrapApiKey(secret);
      const existing = matchApiKey(await apiKeys(), record.key_hash);
      if (existing) return existing;
      const key = apiKeyKey(record.id);
      if ((await createKey(client, opts, key, JSON.stringify(record))) !== undefined) return record;
      // Another replica wrote it between our read and our write.
      const kv = await readKey(client, opts, key);
      return (kv && parse<ApiKeyRecord>(kv)) ?? record;
    },

    async putCloudEndpoint(endpoint) {
      return putCloudEndpointTxn(client, opts, { ...endpoint, host: parseHostName(endpoint.host, "host") });
    },

    async getCloudEndpoint(host) {
      const kv = await readKey(client, opts, cloudEndpointKey(parseHostName(host, "host")));
      const stored = kv && decodeCloudEndpoint(kv);
      if (!stored) throw notFound("cloud endpoint", host);
      return stored.endpoint;
    },

    async listCloudEndpoints(page) {
      return readPage(client, opts, CLOUD_ENDPOINTS, resolvePageRequest(page, CLOUD_ENDPOINTS), (kv) => decodeCloudEndpoint(kv)?.endpoint);
    },

    async deleteCloudEndpoint(host) {
      if (!(await deleteKey(client, opts, cloudEndpointKey(parseHostName(host, "host"))))) throw notFound("cloud endpoint", host);
    },

    async listEdges() {
      return decodeEach(await readPrefix(client, opts, EDGES), (kv) => decodeEdge(kv)?.edge);
    },

    async listBindings() {
      return decodeEach(await readPrefix(client, opts, BINDINGS), decodeBinding);
    },

    async listSessions() {
      return decodeEach(await readPrefix(client, opts, SESSIONS), (kv) => parse<SessionRecord>(kv));
    },

    watchAccess(handler) {
      if (closing) throw new OnrampError(ErrorCode.Internal, "the control store is closed");
      const watch = watchAccess(client, opts, handler);
      watches.add(watch);
      return {
        ready: () => watch.ready(),
        close() {
          watches.delete(watch);
          watch.close();
        },
      };
    },

    close() {
      closing ??= (async () => {
        for (const watch of watches) watch.close();
        watches.clear();
        client.close();
      })();
      return closing;
    },
  };
}

function decodeEach<T>(kvs: IKeyValue[], decode: (kv: IKeyValue) => T | undefined): T[] {
  return kvs.map(decode).filter((v): v is T => v !== undefined);
}
