/**
 * What the registry stores. Values are JSON with snake_case fields, so an operator reading
 * `etcdctl get --prefix /onramp/v1/` sees what the edges see.
 */

/** One agent's bind of an endpoint on one edge: a pool member. Lives under its edge's lease. */
export interface BindingRecord {
  /** Normalised endpoint URL, e.g. `https://foo.internal` or `http://app.example.com:8080`. */
  url: string;
  /** Routing key: lowercase hostname, possibly a wildcard (`*.example.com`). */
  host: string;
  pooling: boolean;
  /** The traffic policy text the agent bound with; "" for none. */
  traffic_policy: string;
  /** `policyHash(traffic_policy)`; every member of a pool has the same one. */
  policy_hash: string;
  /** Id of the edge the agent's session is on. */
  edge: string;
  region: string;
  /** Stable per agent process; an agent's binds on several edges share it. */
  agent_id: string;
  session_id: string;
  bind_id: string;
  /** Where the agent forwards, for operators (`http://localhost:3000`). */
  upstream: string;
  bound_at: string;
  /** Share of the pool's traffic relative to the other members (1–1000); absent means 1. */
  weight?: number;
  /**
   * With `onramp edge --workers N`: the id of the edge whose worker holds this binding (its first
   * worker's id). The agent binds on every worker; the bindings of one bind id in one group are
   * one pool member. Absent for an edge that is one process.
   */
  group?: string;
}

/** An endpoint without an agent, answered by its policy. Durable: no lease. */
export interface CloudEndpointRecord {
  url: string;
  host: string;
  traffic_policy: string;
  /** Where the definition came from (a config file path), for operators. */
  source: string;
  /** Id of the edge (or API) that wrote it last. */
  updated_by: string;
  updated_at: string;
}

/** A live edge. Lives under its own lease, so it vanishes when the edge dies. */
export interface EdgeRecord {
  id: string;
  region: string;
  /** host:port where other edges open relay connections and agents connect. */
  advertise: string;
  /** The public HTTP listener, for operators. */
  http: string;
  started_at: string;
  version: string;
}

/** A connected agent session, for operators. Lives under its edge's lease. */
export interface SessionRecord {
  id: string;
  edge: string;
  agent_id: string;
  remote: string;
  started_at: string;
}

/** A binding as the registry holds it: its key and the revision of the write that made it. */
export interface StoredBinding {
  readonly key: string;
  readonly revision: number;
  readonly binding: BindingRecord;
}

export interface StoredCloudEndpoint {
  readonly key: string;
  readonly revision: number;
  readonly endpoint: CloudEndpointRecord;
}

export interface StoredEdge {
  readonly key: string;
  readonly revision: number;
  readonly edge: EdgeRecord;
}

/** Everything routing needs, as of one revision. */
export interface RegistrySnapshot {
  readonly revision: number;
  readonly bindings: StoredBinding[];
  readonly cloudEndpoints: StoredCloudEndpoint[];
  readonly edges: StoredEdge[];
}

/**
 * A credential agents present in their session hello. The secret itself is shown once, when the
 * token is created, and never stored: an edge hashes what an agent sends and looks the hash up.
 */
export interface AuthtokenRecord {
  /** `tok_` and 20 random base32 characters; names the token in the API and in its key. */
  id: string;
  description: string;
  /**
   * ngrok-style rules saying what the token may bind, e.g. `bind:*.example.com`, `bind:foo.internal`.
   * Empty: the token may bind random URLs only.
   */
  acl: string[];
  /** SHA-256 of the secret, hex. */
  token_hash: string;
  /** The secret's first characters (`onr_` and 8 more), so an operator can tell which token a config holds. */
  token_prefix: string;
  created_at: string;
  /** Who created it, for operators (the API key id, or `bootstrap`). */
  created_by?: string;
}

/** A hostname or wildcard only tokens whose ACL allows it may bind. Durable. */
export interface ReservedDomainRecord {
  /** Lowercase host (`app.example.com`) or wildcard (`*.example.com`). */
  name: string;
  description: string;
  created_at: string;
}

/** A credential for the registry API (`Authorization: Bearer …`); only its hash is stored. */
export interface ApiKeyRecord {
  /** `key_` and 20 random base32 characters (a bootstrap key's id is derived from its hash). */
  id: string;
  description: string;
  /** SHA-256 of the secret, hex. */
  key_hash: string;
  created_at: string;
}

export interface StoredAuthtoken {
  readonly key: string;
  readonly revision: number;
  readonly authtoken: AuthtokenRecord;
}

export interface StoredReservedDomain {
  readonly key: string;
  readonly revision: number;
  readonly domain: ReservedDomainRecord;
}

/** Every authtoken and reserved domain, as of one revision: what an edge admits agents and binds by. */
export interface AccessSnapshot {
  readonly revision: number;
  readonly authtokens: StoredAuthtoken[];
  readonly domains: StoredReservedDomain[];
}
