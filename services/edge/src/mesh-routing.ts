import { BindingView, type MemberStatus, type ViewChange } from "@onramp/mesh";
import type { Policy } from "@onramp/policy";
import type { BindingRecord, CloudEndpointRecord, EdgeRecord, RegistryEvent, StoredBinding } from "@onramp/registry";
import type { Logger } from "@onramp/telemetry";
import { parseEndpointUrl } from "./endpoint-url.js";
import { MemberStatuses } from "./member-status.js";
import { WorkerReplicas } from "./worker-replicas.js";
import type { Member, RoutingTable, StreamOpener } from "./routing-table.js";

export interface MeshRoutingDeps {
  edgeId: string;
  table: RoutingTable;
  /** The data connection of this edge's session that holds `bindId`, when that session is still here. */
  localOpener(bindId: string, sessionId: string): { opener: () => StreamOpener | undefined } | undefined;
  /** Requests in flight on the agent session holding `bindId` here (its load, for the other edges). */
  localLoad(bindId: string, sessionId: string): number;
  /** The relay to another edge, or undefined while it is not connected (dialing starts). */
  relayOpener(edge: string): StreamOpener | undefined;
  /** Compiles a policy text; throws with the problems listed. */
  compilePolicy(text: string, kind: "agent" | "cloud", source: string): Policy;
  logger: Logger;
  onChange?: () => void;
}

/**
 * Feeds the routing table from everything this edge learns about the mesh: the registry watch
 * (bindings, cloud endpoints, edges) and the gossip on the bus (deltas, snapshots, dead edges),
 * merged by revision in a `BindingView`. Policies of remote members are compiled here, once per
 * policy text, so the policy of a pool runs on whichever edge receives the request.
 */
export class MeshRouting {
  readonly view: BindingView;
  /** Live edges from the registry: id → record (relay addresses). */
  readonly edges = new Map<string, EdgeRecord>();
  private readonly policies = new Map<string, { policy: Policy; users: Set<string> }>();
  private readonly cloudHosts = new Map<string, string>();
  private readonly statuses = new MemberStatuses();
  /** One member per agent bind across the workers of one edge (`onramp edge --workers`). */
  private readonly replicas: WorkerReplicas;

  constructor(private readonly deps: MeshRoutingDeps) {
    this.view = new BindingView((change) => this.apply(change));
    this.replicas = new WorkerReplicas(deps.edgeId, (b) => deps.localOpener(b.bind_id, b.session_id) !== undefined);
  }

  /** Applies a registry watch event. */
  onRegistryEvent(event: RegistryEvent): void {
    switch (event.kind) {
      case "reset": {
        const { snapshot } = event;
        this.view.reset(snapshot.bindings, snapshot.revision);
        const hosts = new Set(snapshot.cloudEndpoints.map((c) => c.endpoint.host));
        for (const host of [...this.cloudHosts.keys()]) if (!hosts.has(host)) this.removeCloud(host);
        for (const c of snapshot.cloudEndpoints) this.setCloud(c.endpoint, c.revision);
        this.edges.clear();
        for (const e of snapshot.edges) this.edges.set(e.edge.id, e.edge);
        break;
      }
      case "binding":
        if (event.value) this.view.put(event.key, event.revision, event.value.binding);
        else this.view.remove(event.key, event.revision);
        break;
      case "cloud-endpoint":
        if (event.value) this.setCloud(event.value.endpoint, event.revision);
        else this.removeCloud(event.key.slice(event.key.lastIndexOf("/") + 1));
        break;
      case "edge":
        if (event.value) this.edges.set(event.value.edge.id, event.value.edge);
        else this.edges.delete(event.key.slice(event.key.lastIndexOf("/") + 1));
        break;
    }
    this.deps.onChange?.();
  }

  /** A peer's delta from the bus. */
  onDelta(key: string, revision: number, binding: BindingRecord | undefined): void {
    if (binding) this.view.put(key, revision, binding);
    else this.view.remove(key, revision);
    this.deps.onChange?.();
  }

  /** A peer's full listing from the bus. */
  onSnapshot(edge: string, bindings: StoredBinding[], revision: number): void {
    this.view.reset(bindings, revision, edge);
    this.deps.onChange?.();
  }

  /** A peer's report on its members (health, load). */
  onStatus(statuses: readonly MemberStatus[]): void {
    for (const status of statuses) {
      this.statuses.set(status);
      this.applyStatus(status.key);
    }
  }

  /**
   * The agent holding one of this edge's bindings reported its upstream's health: applied here at
   * once; returns the status to tell the other edges, or undefined when nothing changed.
   */
  setOwnHealth(key: string, healthy: boolean, detail: string): MemberStatus | undefined {
    const binding = this.view.get(key);
    const revision = this.view.revisionOf(key);
    if (!binding || revision === undefined) return undefined;
    const status: MemberStatus = { key, revision, healthy, load: this.deps.localLoad(binding.bind_id, binding.session_id), detail };
    if (!this.statuses.set(status)) return undefined;
    this.applyStatus(key);
    return status;
  }

  /** The status of this edge's pooled members, for the heartbeat's status update. */
  ownStatuses(): MemberStatus[] {
    const out: MemberStatus[] = [];
    for (const { key, revision, binding } of this.view.bindingsOf(this.deps.edgeId)) {
      if (!binding.pooling) continue;
      const known = this.statuses.of(key, revision);
      out.push({ key, revision, healthy: known?.healthy ?? true, load: this.deps.localLoad(binding.bind_id, binding.session_id), detail: known?.detail ?? "" });
    }
    return out;
  }

  /** Re-evaluates one binding (a local session took or gave up its bind). */
  refresh(key: string): void {
    const binding = this.view.get(key);
    if (!binding || this.view.isEdgeDead(binding.edge)) return;
    this.apply({ kind: "down", key, binding });
    this.apply({ kind: "up", key, binding });
    this.deps.onChange?.();
  }

  /**
   * A binding came up or went down. The bindings of one agent bind through the workers of one
   * edge are one member: only the chosen one is in the table, and when the choice changes the
   * member is swapped.
   */
  private apply(change: ViewChange): void {
    const replica = WorkerReplicas.replicaOf(change.binding);
    if (replica === undefined) return this.applyMember(change);
    const { key } = change;
    const { before, after } = this.replicas.update(replica, key, change.kind === "up" ? change.binding : undefined);
    if (before === after && key !== after) {
      if (change.kind === "down" && this.view.get(key) === undefined) this.statuses.delete(key);
      return;
    }
    if (before !== undefined) this.applyMember({ kind: "down", key: before, binding: before === key ? change.binding : this.replicas.bindingOf(replica, before)! });
    if (after !== undefined) this.applyMember({ kind: "up", key: after, binding: this.replicas.bindingOf(replica, after)! });
    if (change.kind === "down" && key !== before && this.view.get(key) === undefined) this.statuses.delete(key);
  }

  private applyMember(change: ViewChange): void {
    const { key, binding } = change;
    let url;
    try {
      url = parseEndpointUrl(binding.url);
    } catch (err) {
      this.deps.logger.warn({ key, url: binding.url, err: (err as Error).message }, "ignoring a binding with an invalid URL");
      return;
    }
    if (change.kind === "down") {
      this.deps.table.removeMember(url.host, key);
      this.releasePolicy(binding.policy_hash, key);
      if (this.view.get(key) === undefined) this.statuses.delete(key);
      return;
    }
    const member = this.memberOf(key, binding);
    if (!member) return;
    this.deps.table.addMember(url, binding.pooling, member);
    this.applyStatus(key);
  }

  /** Puts what is known of a member's health and load into its pool. */
  private applyStatus(key: string): void {
    const binding = this.view.get(key);
    const revision = this.view.revisionOf(key);
    if (!binding || revision === undefined) return;
    const status = this.statuses.of(key, revision);
    const pool = this.deps.table.lookup(binding.host, true)?.pool;
    if (!status || !pool?.get(key)) return;
    pool.setHealthy(key, status.healthy);
    if (binding.edge !== this.deps.edgeId) pool.setReportedLoad(key, status.load);
  }

  private memberOf(key: string, b: BindingRecord): Member | undefined {
    let opener: () => StreamOpener | undefined;
    const local = b.edge === this.deps.edgeId;
    if (local) {
      const here = this.deps.localOpener(b.bind_id, b.session_id);
      if (!here) return undefined; // a binding of a session that is gone (or not yet registered)
      opener = here.opener;
    } else {
      const edge = b.edge;
      opener = () => this.deps.relayOpener(edge);
      opener(); // dial now, so the relay is up before the first request for this member

    }
    let policy: Policy | undefined;
    if (b.traffic_policy.trim()) {
      policy = this.usePolicy(b, key);
      if (!policy) return undefined;
    }
    return {
      id: key,
      bindId: b.bind_id,
      edge: b.edge,
      region: b.region,
      weight: b.weight ?? 1,
      agentId: b.agent_id,
      sessionId: b.session_id,
      upstream: b.upstream,
      local,
      policy,
      opener,
    };
  }

  private usePolicy(b: BindingRecord, key: string): Policy | undefined {
    let entry = this.policies.get(b.policy_hash);
    if (!entry) {
      try {
        entry = { policy: this.deps.compilePolicy(b.traffic_policy, "agent", `traffic policy of ${b.url}`), users: new Set() };
      } catch (err) {
        this.deps.logger.warn({ url: b.url, edge: b.edge, err: (err as Error).message }, "a member's traffic policy does not compile here; member skipped");
        return undefined;
      }
      this.policies.set(b.policy_hash, entry);
    }
    entry.users.add(key);
    return entry.policy;
  }

  private releasePolicy(hash: string, key: string): void {
    const entry = this.policies.get(hash);
    if (!entry) return;
    entry.users.delete(key);
    if (entry.users.size === 0) this.policies.delete(hash);
  }

  private setCloud(record: CloudEndpointRecord, revision: number): void {
    const tag = `${revision}`;
    if (this.cloudHosts.get(record.host) === tag) return;
    try {
      const url = parseEndpointUrl(record.url);
      const policy = this.deps.compilePolicy(record.traffic_policy, "cloud", record.source || `cloud endpoint ${record.url}`);
      this.deps.table.setCloudEndpoint(url, policy);
      this.cloudHosts.set(record.host, tag);
      this.deps.logger.info({ url: url.url, source: record.source, by: record.updated_by }, "cloud endpoint defined");
    } catch (err) {
      this.deps.logger.error({ url: record.url, err: (err as Error).message }, "cloud endpoint from the registry is invalid; not served");
    }
  }

  private removeCloud(host: string): void {
    if (!this.cloudHosts.delete(host)) return;
    this.deps.table.removeCloudEndpoint(host);
    this.deps.logger.info({ host }, "cloud endpoint removed");
  }
}
