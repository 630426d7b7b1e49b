import type {
  BindingRecord,
  CloudEndpointRecord,
  EdgeRecord,
  RegistrySnapshot,
  SessionRecord,
  StoredBinding,
  StoredCloudEndpoint,
  StoredEdge,
} from "./records.js";

/**
 * The durable registry every edge shares: which edges are alive, which agent binds which URL
 * where, and the cloud endpoints. Two implementations: in-memory (the embedded single-edge
 * default) and etcd (a mesh). Conflicts are decided here, atomically, never by an edge's local view.
 *
 * One `Registry` object belongs to one edge: what it writes through `registerEdge`,
 * `claimBinding` and `putSession` lives under that edge's lease and disappears when the edge
 * dies (or calls `close()`).
 */
export interface Registry {
  /**
   * Makes this edge present: a lease kept alive in the background and the edge record under it.
   * Must be called before the other writes. If the lease is lost (etcd was unreachable longer
   * than its TTL), the registry takes a new one and writes every key it owns again; a binding
   * that can no longer be claimed is reported through `onLostBinding`.
   */
  registerEdge(edge: EdgeRecord): Promise<void>;

  /**
   * Claims a URL for a member: refused with BIND_CONFLICT (an OnrampError) when the host is a
   * cloud endpoint, is held without pooling by another agent, or is a pool with another policy
   * (or is non-pooled while this bind asks for pooling, or vice versa); REGISTRY_UNAVAILABLE when
   * the registry cannot be reached in time. The agent's own earlier binding on the same edge (the
   * same key) is replaced.
   */
  claimBinding(binding: BindingRecord): Promise<BindingClaim>;

  /**
   * Deletes a claimed binding, unless a newer claim replaced it (the same agent reconnected and
   * bound again). Resolves with the revision of the delete, or undefined when nothing was
   * deleted. Never rejects: when the registry is unreachable the key is left to its lease.
   */
  releaseBinding(claim: BindingClaim): Promise<number | undefined>;

  /** Records an agent session (for operators); under the edge's lease. Best effort. */
  putSession(session: SessionRecord): Promise<void>;
  deleteSession(edge: string, id: string): Promise<void>;

  /**
   * Defines (or redefines) a cloud endpoint; durable. Refused with BIND_CONFLICT when agents
   * hold bindings for its host.
   */
  putCloudEndpoint(endpoint: CloudEndpointRecord): Promise<StoredCloudEndpoint>;
  deleteCloudEndpoint(host: string): Promise<void>;

  /** Everything routing needs, read consistently at one revision. */
  snapshot(): Promise<RegistrySnapshot>;

  /**
   * Lists, then follows every change. The first event is always a `reset` with the full
   * snapshot; later `reset`s come after the watch had to start over (compaction, a reconnect
   * that could not resume) and replace everything the handler knew. While the registry is
   * unreachable no events come; the watch resumes from the last revision it delivered.
   */
  watch(handler: (event: RegistryEvent) => void): RegistryWatch;

  /** Called when a binding this edge owned was lost and could not be claimed again. */
  onLostBinding: ((claim: BindingClaim, why: Error) => void) | undefined;

  /** Revokes the lease (the edge's keys vanish at once) and closes connections. */
  close(): Promise<void>;
}

/** A successful claim. Pass it back to `releaseBinding`. */
export interface BindingClaim {
  readonly key: string;
  /** Revision of the write; changes if the registry has to write the key again. */
  readonly revision: number;
  readonly binding: BindingRecord;
}

export type RegistryEvent =
  | { readonly kind: "reset"; readonly snapshot: RegistrySnapshot }
  | { readonly kind: "binding"; readonly key: string; readonly revision: number; readonly value: StoredBinding | undefined }
  | { readonly kind: "cloud-endpoint"; readonly key: string; readonly revision: number; readonly value: StoredCloudEndpoint | undefined }
  | { readonly kind: "edge"; readonly key: string; readonly revision: number; readonly value: StoredEdge | undefined };

export interface RegistryWatch {
  /** Resolves after the first `reset` was delivered. */
  ready(): Promise<void>;
  close(): void;
}

