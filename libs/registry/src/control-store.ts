import type {
  AccessSnapshot,
  ApiKeyRecord,
  AuthtokenRecord,
  CloudEndpointRecord,
  EdgeRecord,
  ReservedDomainRecord,
  SessionRecord,
  StoredAuthtoken,
  StoredBinding,
  StoredCloudEndpoint,
  StoredReservedDomain,
} from "./records.js";
import type { RegistryWatch } from "./registry.js";

/**
 * What the registry API manages, over the same store the edges use: authtokens, reserved domains,
 * API keys and cloud endpoints, plus read-only views of the live mesh. Two implementations, as for
 * `Registry`: in-memory (sharing a `MemoryRegistryStore` with the embedded edge) and etcd.
 *
 * Errors are OnrampErrors: INVALID_ARGUMENT naming the field, NOT_FOUND for an id or name that is
 * not there, ALREADY_EXISTS for a second reservation of a domain, BIND_CONFLICT for a cloud
 * endpoint over live bindings, REGISTRY_UNAVAILABLE when etcd does not answer in time.
 */
export interface ControlStore {
  /** Makes a token; its secret is in the result only, never stored (the record keeps its hash). */
  createAuthtoken(input: NewAuthtoken): Promise<CreatedAuthtoken>;
  getAuthtoken(id: string): Promise<AuthtokenRecord>;
  listAuthtokens(page?: PageRequest): Promise<Page<AuthtokenRecord>>;
  /** Changes what is given, keeps the rest; concurrent updates of one token do not lose each other's fields. */
  updateAuthtoken(id: string, changes: AuthtokenChanges): Promise<AuthtokenRecord>;
  /** Deletes the token; every edge following `watchAccess` refuses its secret from then on. */
  revokeAuthtoken(id: string): Promise<void>;

  /** ALREADY_EXISTS if the name is reserved already. */
  reserveDomain(input: NewReservedDomain): Promise<ReservedDomainRecord>;
  getDomain(name: string): Promise<ReservedDomainRecord>;
  listDomains(page?: PageRequest): Promise<Page<ReservedDomainRecord>>;
  releaseDomain(name: string): Promise<void>;

  /** Makes an API key; its secret is in the result only. */
  createApiKey(input: NewApiKey): Promise<CreatedApiKey>;
  listApiKeys(page?: PageRequest): Promise<Page<ApiKeyRecord>>;
  revokeApiKey(id: string): Promise<void>;
  /** The key whose secret this is (hashes compared in constant time), or undefined. Reads the store on every call. */
  verifyApiKey(secret: string): Promise<ApiKeyRecord | undefined>;
  /**
   * Makes `secret` a valid API key (`onramp registry --api-key`): the existing key with its hash,
   * or a new one whose id derives from the hash, so replicas starting together write one record.
   * A key the operator stops passing stays valid until revoked.
   */
  ensureBootstrapApiKey(secret: string): Promise<ApiKeyRecord>;

  /** The same rules and conflicts as `Registry.putCloudEndpoint`; `host` is normalised. */
  putCloudEndpoint(endpoint: CloudEndpointRecord): Promise<StoredCloudEndpoint>;
  getCloudEndpoint(host: string): Promise<CloudEndpointRecord>;
  listCloudEndpoints(page?: PageRequest): Promise<Page<CloudEndpointRecord>>;
  /** NOT_FOUND if there is none (unlike `Registry.deleteCloudEndpoint`, which an edge calls blind). */
  deleteCloudEndpoint(host: string): Promise<void>;

  /** The live edges, read at one revision. */
  listEdges(): Promise<EdgeRecord[]>;
  /**
   * Every binding (pool member) in the mesh, read at one revision, in key order: the raw material
   * of the endpoints view. Each comes with its key and the revision of its write, which is what
   * the status an edge reports for a member on the bus names.
   */
  listBindings(): Promise<StoredBinding[]>;
  /** The agent sessions of the live edges (`/onramp/v1/sessions/<edge>/…`), read at one revision, in key order. */
  listSessions(): Promise<SessionRecord[]>;

  /**
   * Lists authtokens and reserved domains, then follows every change, as `Registry.watch` does:
   * the first event is a `reset`; another `reset` replaces everything after the watch had to
   * start over; while etcd is unreachable no events come. An edge keeps an `AccessIndex` from it.
   */
  watchAccess(handler: (event: AccessEvent) => void): RegistryWatch;

  /** Ends the watches and closes connections. */
  close(): Promise<void>;
}

export interface NewAuthtoken {
  /** At most 255 characters; default "". */
  description?: string;
  /** At most 100 rules of at most 253 characters each; default none (random URLs only). */
  acl?: string[];
  /** Who asks (an API key id), for operators. */
  created_by?: string;
}

export interface AuthtokenChanges {
  description?: string;
  acl?: string[];
}

export interface CreatedAuthtoken {
  readonly record: AuthtokenRecord;
  /** The secret agents present: shown to the caller once, stored nowhere. */
  readonly token: string;
}

export interface NewReservedDomain {
  /** A hostname or wildcard; lowercased, trailing dot removed. */
  name: string;
  description?: string;
}

export interface NewApiKey {
  description?: string;
}

export interface CreatedApiKey {
  readonly record: ApiKeyRecord;
  /** The secret for `Authorization: Bearer …`: shown once, stored nowhere. */
  readonly key: string;
}

export interface PageRequest {
  /** 1–1000; default 100. */
  limit?: number;
  /** `next_cursor` of the previous page; absent for the first. */
  cursor?: string;
}

/** One page of a list ordered by key. */
export interface Page<T> {
  readonly items: T[];
  /** Pass it back for the next page; absent on the last one. */
  readonly next_cursor: string | undefined;
}

export type AccessEvent =
  | { readonly kind: "reset"; readonly snapshot: AccessSnapshot }
  | { readonly kind: "authtoken"; readonly key: string; readonly revision: number; readonly value: StoredAuthtoken | undefined }
  | { readonly kind: "domain"; readonly key: string; readonly revision: number; readonly value: StoredReservedDomain | undefined };
