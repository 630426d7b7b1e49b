import { Pool, type MemberInfo } from "@onramp/balancer";
import { ErrorCode, OnrampError } from "@onramp/errors";
import type { Policy } from "@onramp/policy";
import type { EndpointUrl } from "./endpoint-url.js";

/** One agent's bind of an endpoint: a pool member. */
export interface Member<S = unknown> extends MemberInfo {
  readonly bindId: string;
  readonly session: S;
  readonly upstream: string;
  /** The traffic policy this member's agent bound with; runs for requests routed to it. */
  readonly policy: Policy | undefined;
}

export interface Endpoint<S = unknown> {
  readonly id: string;
  readonly url: EndpointUrl;
  readonly pooling: boolean;
  readonly pool: Pool<Member<S>>;
  /** Set on cloud endpoints: they have no members and their policy answers every request. */
  readonly cloudPolicy?: Policy;
}

/**
 * 10,000 hosts, kept 1 h: enough to answer "endpoint offline" rather than "not found" for the
 * endpoints of agents that restart or reconnect, without growing without bound.
 */
const TOMBSTONE_LIMIT = 10_000;
const TOMBSTONE_TTL_MS = 60 * 60 * 1000;

/**
 * The edge's view of which endpoints are online and who serves them. Exact hosts and wildcards
 * (`*.example.com`) are looked up by walking up the labels, so the most specific match wins.
 */
export class RoutingTable<S = unknown> {
  private readonly byHost = new Map<string, Endpoint<S>>();
  private readonly tombstones = new Map<string, number>();
  private nextId = 1;

  constructor(private readonly localRegion: string) {}

  get size(): number {
    return this.byHost.size;
  }

  endpoints(): Endpoint<S>[] {
    return [...this.byHost.values()];
  }

  /** Adds a member to the endpoint at `url`, creating it, or refuses with BIND_CONFLICT. */
  bind(url: EndpointUrl, pooling: boolean, member: Member<S>): Endpoint<S> {
    const existing = this.byHost.get(url.host);
    if (existing?.cloudPolicy) {
      throw new OnrampError(ErrorCode.BindConflict, `${url.url} is a cloud endpoint defined in the edge's configuration; choose another URL.`);
    }
    if (existing) {
      if (!existing.pooling || !pooling) {
        throw new OnrampError(
          ErrorCode.BindConflict,
          `${url.url} is already bound by another agent${existing.pooling ? "" : " without pooling"}. ` +
            "Stop that agent, choose another URL, or pass --pooling-enabled on every agent that binds it.",
        );
      }
      existing.pool.add(member);
      return existing;
    }
    const endpoint: Endpoint<S> = {
      id: `ep_${(this.nextId++).toString(36)}_${Date.now().toString(36)}`,
      url,
      pooling,
      pool: new Pool<Member<S>>({ localRegion: this.localRegion }),
    };
    endpoint.pool.add(member);
    this.byHost.set(url.host, endpoint);
    this.tombstones.delete(url.host);
    return endpoint;
  }

  /** Adds a cloud endpoint: no agent, its policy answers (or forwards) every request. */
  addCloudEndpoint(url: EndpointUrl, policy: Policy): Endpoint<S> {
    if (this.byHost.has(url.host)) throw new OnrampError(ErrorCode.BindConflict, `${url.url} is defined twice`);
    const endpoint: Endpoint<S> = {
      id: `ep_cloud_${(this.nextId++).toString(36)}`,
      url,
      pooling: false,
      pool: new Pool<Member<S>>({ localRegion: this.localRegion }),
      cloudPolicy: policy,
    };
    this.byHost.set(url.host, endpoint);
    return endpoint;
  }

  /** Removes a member; an endpoint left with no members goes offline. */
  unbind(host: string, memberId: string): void {
    const endpoint = this.byHost.get(host);
    if (!endpoint || !endpoint.pool.remove(memberId) || endpoint.pool.size > 0) return;
    this.byHost.delete(host);
    this.rememberOffline(host);
  }

  /** The endpoint serving a request's hostname, if any. Internal endpoints only when asked. */
  lookup(hostname: string, includeInternal = false): Endpoint<S> | undefined {
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
