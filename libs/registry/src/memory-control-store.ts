import { alreadyReserved, checkObjectId, encodeCursor, notFound, parseHostName, resolvePageRequest } from "./control-input.js";
import { bootstrapApiKey, changedAuthtoken, checkAuthtokenChanges, newApiKey, newAuthtoken, newReservedDomain } from "./control-records.js";
import { hashSecret, matchApiKey } from "./control-secrets.js";
import type { AccessEvent, ControlStore, Page, PageRequest } from "./control-store.js";
import { API_KEYS, AUTHTOKENS, CLOUD_ENDPOINTS, DOMAINS, apiKeyKey, authtokenKey, cloudEndpointKey, domainKey } from "./keys.js";
import { createMemoryRegistry, MemoryRegistryStore } from "./memory-registry.js";
import type { AuthtokenRecord } from "./records.js";

/**
 * The control store of the embedded edge: it keeps its state in the same `MemoryRegistryStore`
 * as the edge's registry, so the edge serves the API over what it routes by, and an edge
 * following `watchAccess` sees a token the moment it is created. Same contract as the etcd store;
 * events are delivered synchronously.
 */
export function createMemoryControlStore(store: MemoryRegistryStore = new MemoryRegistryStore()): ControlStore {
  // Cloud endpoints go through a registry handle of the same store: the same conflict rule and
  // the same events as an edge's own writes. It never registers, so it owns nothing to release.
  const registry = createMemoryRegistry(store);
  const handlers = new Set<(event: AccessEvent) => void>();

  const writeAuthtoken = (record: AuthtokenRecord) => {
    const key = authtokenKey(record.id);
    const stored = { key, revision: ++store.revision, authtoken: structuredClone(record) };
    store.authtokens.set(key, stored);
    store.emitAccess({ kind: "authtoken", key, revision: stored.revision, value: stored });
  };

  const storedAuthtoken = (id: string) => {
    const found = store.authtokens.get(authtokenKey(checkObjectId(id, "tok_", "authtoken")));
    if (!found) throw notFound("authtoken", id);
    return found;
  };

  return {
    async createAuthtoken(input) {
      const created = newAuthtoken(input);
      writeAuthtoken(created.record);
      return created;
    },

    async getAuthtoken(id) {
      return structuredClone(storedAuthtoken(id).authtoken);
    },

    async listAuthtokens(page) {
      return pageOf(store.authtokens, AUTHTOKENS, page, (s) => s.authtoken);
    },

    async updateAuthtoken(id, changes) {
      const checked = checkAuthtokenChanges(changes);
      const record = changedAuthtoken(storedAuthtoken(id).authtoken, checked);
      writeAuthtoken(record);
      return structuredClone(record);
    },

    async revokeAuthtoken(id) {
      const { key } = storedAuthtoken(id);
      store.authtokens.delete(key);
      store.emitAccess({ kind: "authtoken", key, revision: ++store.revision, value: undefined });
    },

    async reserveDomain(input) {
      const record = newReservedDomain(input);
      const key = domainKey(record.name);
      if (store.domains.has(key)) throw alreadyReserved(record.name);
      const stored = { key, revision: ++store.revision, domain: record };
      store.domains.set(key, stored);
      store.emitAccess({ kind: "domain", key, revision: stored.revision, value: stored });
      return { ...record };
    },

    async getDomain(name) {
      const found = store.domains.get(domainKey(parseHostName(name, "name")));
      if (!found) throw notFound("reserved domain", name);
      return { ...found.domain };
    },

    async listDomains(page) {
      return pageOf(store.domains, DOMAINS, page, (s) => s.domain);
    },

    async releaseDomain(name) {
      const key = domainKey(parseHostName(name, "name"));
      if (!store.domains.delete(key)) throw notFound("reserved domain", name);
      store.emitAccess({ kind: "domain", key, revision: ++store.revision, value: undefined });
    },

    async createApiKey(input) {
      const created = newApiKey(input);
      store.apiKeys.set(apiKeyKey(created.record.id), { ...created.record });
      store.revision++;
      return created;
    },

    async listApiKeys(page) {
      return pageOf(store.apiKeys, API_KEYS, page, (record) => record);
    },

    async revokeApiKey(id) {
      if (!store.apiKeys.delete(apiKeyKey(checkObjectId(id, "key_", "API key")))) throw notFound("API key", id);
      store.revision++;
    },

    async verifyApiKey(secret) {
      if (typeof secret !== "string" || !secret) return undefined;
      const match = matchApiKey([...store.apiKeys.values()], hashSecret(secret));
      return match && { ...match };
    },

    async ensureBootstrapApiKey(secret) {
      const record = bootstrapApiKey(secret);
      const existing = matchApiKey([...store.apiKeys.values()], record.key_hash);
      if (existing) return { ...existing };
      store.apiKeys.set(apiKeyKey(record.id), record);
      store.revision++;
      return { ...record };
    },

    async putCloudEndpoint(endpoint) {
      return registry.putCloudEndpoint({ ...endpoint, host: parseHostName(endpoint.host, "host") });
    },

    async getCloudEndpoint(host) {
      const found = store.cloudEndpoints.get(cloudEndpointKey(parseHostName(host, "host")));
      if (!found) throw notFound("cloud endpoint", host);
      return { ...found.endpoint };
    },

    async listCloudEndpoints(page) {
      return pageOf(store.cloudEndpoints, CLOUD_ENDPOINTS, page, (s) => s.endpoint);
    },

    async deleteCloudEndpoint(host) {
      const name = parseHostName(host, "host");
      if (!store.cloudEndpoints.has(cloudEndpointKey(name))) throw notFound("cloud endpoint", host);
      await registry.deleteCloudEndpoint(name);
    },

    async listEdges() {
      return byKey([...store.edges.entries()]).map(([, s]) => ({ ...s.edge }));
    },

    async listBindings() {
      return byKey([...store.bindings.entries()]).map(([, s]) => structuredClone(s));
    },

    async listSessions() {
      return byKey([...store.sessions.entries()]).map(([, s]) => ({ ...s }));
    },

    watchAccess(handler) {
      const own = (event: AccessEvent) => handler(event);
      handlers.add(own);
      store.accessWatchers.add(own);
      own({ kind: "reset", snapshot: store.accessSnapshot() });
      const close = () => {
        handlers.delete(own);
        store.accessWatchers.delete(own);
      };
      return { ready: () => Promise.resolve(), close };
    },

    async close() {
      for (const own of handlers) store.accessWatchers.delete(own);
      handlers.clear();
    },
  };
}

/** Keys in etcd's order: by bytes. */
function byKey<T>(entries: [string, T][]): [string, T][] {
  return entries.sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/** One page of `map` (keyed as etcd would be), with the cursor semantics of the etcd store. */
function pageOf<S, T>(map: ReadonlyMap<string, S>, prefix: string, request: PageRequest | undefined, item: (stored: S) => T): Page<T> {
  const { limit, after } = resolvePageRequest(request, prefix);
  const start = after === undefined ? undefined : Buffer.from(after);
  const rest = byKey([...map.entries()]).filter(([key]) => !start || Buffer.compare(Buffer.from(key), start) > 0);
  const taken = rest.slice(0, limit);
  return {
    items: taken.map(([, stored]) => structuredClone(item(stored))),
    next_cursor: rest.length > limit ? encodeCursor(taken[taken.length - 1]![0]) : undefined,
  };
}
