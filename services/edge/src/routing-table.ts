import { Pool, type MemberInfo } from "@onramp/balancer";
import type { MuxStream, StreamHandler } from "@onramp/mux";
import type { Policy } from "@onramp/policy";
import { endpointIdOf } from "@onramp/registry";
import type { EndpointUrl } from "./endpoint-url.js";
import { UNMETERED, type RoutingMeter } from "./routing-meter.js";

/** Something a request stream can be opened on: an agent's data connection, or a relay to another edge. */
export interface StreamOpener {
  /** `lend` false: no credit lent up front for the response (see `MuxConnection.openStream`). */
  openStream(head: Uint8Array, endStream: boolean, handler: StreamHandler, lend?: boolean): MuxStream;
}

/** One agent's bind of an endpoint, on this edge or another: a pool member. */
export interface Member extends MemberInfo {
  /** The registry key of the binding. */
  readonly id: string;
  readonly bindId: string;
  /** Id of the edge the agent's session is on. */
  readonly edge: string;
  readonly agentId: string;
  readonly sessionId: string;
  readonly upstream: string;
  /** True when the agent's session is on this edge; otherwise requests go through the relay. */
  readonly local: boolean;
  /** The traffic policy this member's agent bound with; runs (here, on the receiving edge) for requests routed to it. */
  readonly policy: Policy | undefined;
  /** Where to open a request stream now, or undefined when this member cannot take one (session ending, relay down). */
  opener(): StreamOpener | undefined;
}

export interface Endpoint {
  /** Stable across edges: derived from the host. */
  readonly id: string;
  readonly url: EndpointUrl;
  pooling: boolean;
  readonly pool: Pool<Member>;
  /** Members marked not ready because they had no route (see `pickRoute`); re-checked at each pick. */
  unready?: Set<string>;
  /** Set on cloud endpoints: they have no members and their policy answers every request. */
  readonly cloudPolicy?: Policy;
  /** The table's meter: whoever routes a request to this endpoint counts its pick and upgrade there. */
  readonly meter: RoutingMeter;
}

/**
 * 10,000 hosts, kept 1 h: enough to answer "endpoint offline" rather than "not found" for the
 * endpoints of agents that restart or reconnect, without growing without bound.
 */
const TOMBSTONE_LIMIT = 10_000;
const TOMBSTONE_TTL_MS = 60 * 60 * 1000;

/**
 * The edge's routing table: which endpoints are online and who serves them. A read-only local
 * view of the registry — it decides nothing (conflicts are the registry's); it is fed by the
 * mesh view and answers lookups on the request path. Exact hosts and wildcards
 * (`*.example.com`) are looked up by walking up the labels, so the most specific match wins.
 */
export class RoutingTable {
  /** This edge's id, set when it joins the mesh (before any member arrives): its members are tier 0. */
  localEdge: string | undefined;
  private readonly byHost = new Map<string, Endpoint>();
  private readonly tombstones = new Map<string, number>();
  private waiters: Array<() => void> = [];

  constructor(
    private readonly localRegion: string,
    /** Counts picks and upgrades on this table's endpoints; default: nothing is counted. */
    readonly meter: RoutingMeter = UNMETERED,
  ) {}

  /** Resolves at the next change in who can take requests (a member came, went or became ready), or after `timeoutMs`. */
  changed(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== wake);
        resolve();
      }, timeoutMs);
      this.waiters.push(wake);
    });
  }

  /** Wakes the requests waiting in `changed`. */
  notifyChanged(): void {
    if (this.waiters.length === 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  get size(): number {
    return this.byHost.size;
  }

  endpoints(): Endpoint[] {
    return [...this.byHost.values()];
  }

  /** Adds or replaces a member of the endpoint at `url`, creating the endpoint. */
  addMember(url: EndpointUrl, pooling: boolean, member: Member): Endpoint {
    let endpoint = this.byHost.get(url.host);
    if (endpoint?.cloudPolicy) return endpoint;
    if (!endpoint) {
      endpoint = { id: endpointIdOf(url.host), url, pooling, pool: this.newPool(), meter: this.meter };
      this.byHost.set(url.host, endpoint);
      this.tombstones.delete(url.host);
    }
    endpoint.pooling = pooling;
    // Replaces the member in place: its health, ejection and load stay.
    endpoint.pool.add(member);
    this.notifyChanged();
    return endpoint;
  }

  /** Removes a member; an endpoint left with no members goes offline. */
  removeMember(host: string, memberId: string): void {
    const endpoint = this.byHost.get(host);
    if (!endpoint || endpoint.cloudPolicy || !endpoint.pool.remove(memberId)) return;
    this.notifyChanged();
    if (endpoint.pool.size > 0) return;
    this.byHost.delete(host);
    this.rememberOffline(host);
  }

  /** Defines or redefines a cloud endpoint: no agent, its policy answers (or forwards) every request. */
  setCloudEndpoint(url: EndpointUrl, policy: Policy): Endpoint {
    const endpoint: Endpoint = { id: endpointIdOf(url.host), url, pooling: false, pool: this.newPool(), cloudPolicy: policy, meter: this.meter };
    this.byHost.set(url.host, endpoint);
    this.tombstones.delete(url.host);
    return endpoint;
  }

  /**
   * A deleted cloud endpoint is unknown from now on (404), not offline: nothing will serve it
   * again by itself, unlike an agent's endpoint between reconnects. An agent endpoint the host
   * had before the cloud endpoint left a tombstone, which goes too.
   */
  removeCloudEndpoint(host: string): void {
    if (!this.byHost.get(host)?.cloudPolicy) return;
    this.byHost.delete(host);
    this.tombstones.delete(host);
  }

  private newPool(): Pool<Member> {
    return new Pool<Member>({ localRegion: this.localRegion, ...(this.localEdge ? { localEdge: this.localEdge } : {}) });
  }

  /** The endpoint serving a request's hostname, if any. Internal endpoints only when asked. */
  lookup(hostname: string, includeInternal = false): Endpoint | undefined {
    const exact = this.byHost.get(hostname);
    if (exact) return exact.url.internal && !includeInternal ? undefined : exact;
    let dot = hostname.indexOf(".");
    while (dot >= 0) {
      const wildcard = this.byHost.get(`*${hostname.slice(dot)}`);
      if (wildcard && (!wildcard.url.internal || includeInternal)) return wildcard;
      dot = hostname.indexOf(".", dot + 1);
    }
    return undefined;
  }

  /** True when `hostname`, or a wildcard covering it, was served recently and has no member now. */
  wasOnline(hostname: string): boolean {
    if (this.recentlyOffline(hostname)) return true;
    for (let dot = hostname.indexOf("."); dot >= 0; dot = hostname.indexOf(".", dot + 1)) {
      if (this.recentlyOffline(`*${hostname.slice(dot)}`)) return true;
    }
    return false;
  }

  private recentlyOffline(host: string): boolean {
    const at = this.tombstones.get(host);
    if (at === undefined) return false;
    if (Date.now() - at > TOMBSTONE_TTL_MS) {
      this.tombstones.delete(host);
      return false;
    }
    return true;
  }

  private rememberOffline(host: string): void {
    this.tombstones.delete(host);
    this.tombstones.set(host, Date.now());
    if (this.tombstones.size > TOMBSTONE_LIMIT) {
      const oldest = this.tombstones.keys().next().value;
      if (oldest !== undefined) this.tombstones.delete(oldest);
    }
  }
}
