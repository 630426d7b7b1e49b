import { bindingKey, cloudEndpointKey, edgeKey, hostPrefix, sessionKey } from "./keys.js";
import { bindConflict, cloudEndpointConflict } from "./conflicts.js";
import type { AccessEvent } from "./control-store.js";
import type {
  AccessSnapshot,
  ApiKeyRecord,
  CloudEndpointRecord,
  EdgeRecord,
  RegistrySnapshot,
  SessionRecord,
  StoredBinding,
  StoredCloudEndpoint,
  StoredEdge,
  BindingRecord,
  StoredAuthtoken,
  StoredReservedDomain,
} from "./records.js";
import type { BindingClaim, Registry, RegistryEvent, RegistryWatch } from "./registry.js";

/**
 * The state one in-memory registry shares among the `Registry` handles made from it: several
 * edges in one process (tests, the embedded edge) see one store, as etcd clients see one cluster.
 */
export class MemoryRegistryStore {
  revision = 0;
  readonly bindings = new Map<string, StoredBinding>();
  readonly cloudEndpoints = new Map<string, StoredCloudEndpoint>();
  readonly edges = new Map<string, StoredEdge>();
  readonly sessions = new Map<string, SessionRecord>();
  readonly watchers = new Set<(event: RegistryEvent) => void>();
  /** The control plane's durable state (memory-control-store.ts), keyed like etcd's. */
  readonly authtokens = new Map<string, StoredAuthtoken>();
  readonly domains = new Map<string, StoredReservedDomain>();
  readonly apiKeys = new Map<string, ApiKeyRecord>();
  readonly accessWatchers = new Set<(event: AccessEvent) => void>();

  snapshot(): RegistrySnapshot {
    return {
      revision: this.revision,
      bindings: [...this.bindings.values()],
      cloudEndpoints: [...this.cloudEndpoints.values()],
      edges: [...this.edges.values()],
    };
  }

  emit(event: RegistryEvent): void {
    for (const w of this.watchers) w(event);
  }

  accessSnapshot(): AccessSnapshot {
    return { revision: this.revision, authtokens: [...this.authtokens.values()], domains: [...this.domains.values()] };
  }

  emitAccess(event: AccessEvent): void {
    for (const w of this.accessWatchers) w(event);
  }

  bindingsUnder(host: string): StoredBinding[] {
    const prefix = hostPrefix(host);
    return [...this.bindings.values()].filter((b) => b.key.startsWith(prefix));
  }
}

/**
 * The embedded registry: everything in this process, nothing durable. Same contract as the etcd
 * registry (the shared contract tests run against both); events are delivered synchronously.
 */
export function createMemoryRegistry(store: MemoryRegistryStore = new MemoryRegistryStore()): Registry {
  let edgeId: string | undefined;
  const owned = new Set<string>();
  const ownedSessions = new Set<string>();
  let closed = false;

  const removeBinding = (key: string): number => {
    store.bindings.delete(key);
    const revision = ++store.revision;
    store.emit({ kind: "binding", key, revision, value: undefined });
    return revision;
  };

  const registry: Registry = {
    onLostBinding: undefined,

    async registerEdge(edge: EdgeRecord) {
      edgeId = edge.id;
      const key = edgeKey(edge.id);
      // A previous incarnation of this edge (same id) left its bindings behind: they are dead.
      for (const b of [...store.bindings.values()]) if (b.binding.edge === edge.id && !owned.has(b.key)) removeBinding(b.key);
      const stored = { key, revision: ++store.revision, edge };
      store.edges.set(key, stored);
      store.emit({ kind: "edge", key, revision: stored.revision, value: stored });
    },

    async claimBinding(binding: BindingRecord): Promise<BindingClaim> {
      if (closed) throw new Error("registry closed");
      const cloud = store.cloudEndpoints.has(cloudEndpointKey(binding.host));
      const conflict = bindConflict(binding, store.bindingsUnder(binding.host), cloud);
      if (conflict) throw conflict;
      const key = bindingKey(binding);
      const stored: StoredBinding = { key, revision: ++store.revision, binding: { ...binding } };
      store.bindings.set(key, stored);
      owned.add(key);
      store.emit({ kind: "binding", key, revision: stored.revision, value: stored });
      return { key, revision: stored.revision, binding: stored.binding };
    },

    async releaseBinding(claim: BindingClaim) {
      const current = store.bindings.get(claim.key);
      if (!current || current.revision !== claim.revision) return undefined;
      owned.delete(claim.key);
      return removeBinding(claim.key);
    },

    async putSession(session: SessionRecord) {
      const key = sessionKey(session.edge, session.id);
      store.sessions.set(key, session);
      ownedSessions.add(key);
      store.revision++;
    },

    async deleteSession(edge: string, id: string) {
      const key = sessionKey(edge, id);
      ownedSessions.delete(key);
      if (store.sessions.delete(key)) store.revision++;
    },

    async putCloudEndpoint(endpoint: CloudEndpointRecord) {
      const conflict = cloudEndpointConflict(endpoint.url, store.bindingsUnder(endpoint.host));
      if (conflict) throw conflict;
      const key = cloudEndpointKey(endpoint.host);
      const stored = { key, revision: ++store.revision, endpoint: { ...endpoint } };
      store.cloudEndpoints.set(key, stored);
      store.emit({ kind: "cloud-endpoint", key, revision: stored.revision, value: stored });
      return stored;
    },

    async deleteCloudEndpoint(host: string) {
      const key = cloudEndpointKey(host);
      if (!store.cloudEndpoints.delete(key)) return;
      store.emit({ kind: "cloud-endpoint", key, revision: ++store.revision, value: undefined });
    },

    async snapshot() {
      return store.snapshot();
    },

    watch(handler): RegistryWatch {
      store.watchers.add(handler);
      handler({ kind: "reset", snapshot: store.snapshot() });
      return { ready: () => Promise.resolve(), close: () => void store.watchers.delete(handler) };
    },

    async close() {
      if (closed) return;
      closed = true;
      // As a revoked lease would: everything this edge wrote goes at once.
      for (const key of owned) if (store.bindings.has(key)) removeBinding(key);
      owned.clear();
      for (const key of ownedSessions) store.sessions.delete(key);
      if (edgeId) {
        const key = edgeKey(edgeId);
        if (store.edges.delete(key)) store.emit({ kind: "edge", key, revision: ++store.revision, value: undefined });
      }
    },
  };
  return registry;
}

