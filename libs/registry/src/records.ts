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
