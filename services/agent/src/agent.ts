import { ErrorCode, OnrampError } from "@onramp/errors";
import { randomUUID } from "node:crypto";
import { BindHealth, type HealthChange } from "./bind-health.js";
import { EdgeLink, type BoundUrls, type LinkKind, type LinkOwner } from "./edge-link.js";
import type { BindSpec } from "./edge-session.js";
import { isEdgeAddress, resolveAgentOptions, type AgentOptions, type ResolvedAgentOptions } from "./options.js";
import { createUpstream } from "./upstream.js";

export interface BindOptions {
  /** Upstream to forward to: a port, host:port or URL. */
  upstream: string;
  /** URL to bind; empty asks the edge for a random one (then bound on every edge and kept across reconnects). */
  url?: string;
  poolingEnabled?: boolean;
  /** Share of the pool's traffic this member takes relative to the others, 1–1000. Default 1. */
  poolWeight?: number;
  trafficPolicy?: string;
  /** Where `trafficPolicy` came from (a file path), so the edge's errors point there. */
  trafficPolicySource?: string;
  /**
   * The Host header requests carry to the upstream. Default: the client's, as the edge forwarded
   * it (ngrok's default). "rewrite": the upstream's own host[:port], e.g. `localhost:3000`, for
   * dev servers and virtual hosts that refuse the public name; any other value: that host[:port].
   * The client's Host stays visible in X-Forwarded-Host, which the edge sets.
   */
  hostHeader?: "rewrite" | (string & {});
  /**
   * Whether observers that keep requests (the inspector) may record this endpoint's traffic;
   * ExchangeInfo.inspect carries it. Default true; false for endpoints carrying secrets.
   */
  inspect?: boolean;
}

export interface BoundEndpoint {
  readonly bindId: string;
  /** The URL bound: the endpoint's identity on every edge. */
  readonly url: string;
  /** Where clients reach it, as it works when typed (the first edge's public port, http:// without TLS). */
  readonly publicUrl: string;
  readonly upstream: string;
}

/** One edge the agent holds (or is trying to hold) a session with; for diagnostics. */
export interface AgentEdge {
  edge: string;
  connected: boolean;
  sessionId?: string;
  region?: string;
  /** The latest round-trip time to the edge in ms, while connected and once measured (see EdgeSession.rttMs). */
  rttMs?: number;
  /** Named by a Welcome (`extraEdges`), not by the agent's options. */
  extra: boolean;
  /** Another worker process of an edge the agent holds, named by a Welcome (`siblings`); set only then. */
  sibling?: boolean;
}

/** How logs name a link a Welcome brought in. */
const KIND_TEXT = { extra: "an extra edge", sibling: "a sibling worker" } as const;

/**
 * Errors no reconnect can fix. From any edge, at any time, they stop the agent: a bind that one
 * edge refuses as a conflict or as invalid cannot be served by the others as if it were fine.
 */
const FATAL = new Set<ErrorCode>([ErrorCode.AuthFailed, ErrorCode.EdgeUntrusted, ErrorCode.BindConflict, ErrorCode.BindDenied, ErrorCode.InvalidUrl, ErrorCode.InvalidArgument, ErrorCode.PolicyInvalid]);

/**
 * An agent: holds a session with every edge it is given (and up to `extraEdges` more that the
 * edges name, and every sibling worker process they name), binds every endpoint on each, and
 * forwards requests to upstreams. Each edge has its own link with its own reconnect loop, so
 * losing one edge leaves the others serving.
 */
export class Agent {
  readonly options: ResolvedAgentOptions;
  /** By address: listed edges first, in order, then extras and siblings as Welcomes name them. */
  private readonly links = new Map<string, EdgeLink>();
  /** Endpoints whose URL is known; every session binds all of them. */
  private readonly binds = new Map<string, BindSpec>();
  /** Endpoints whose first bind, which fixes the URL, is in flight. */
  private readonly pending = new Map<string, BindSpec>();
  /** Addresses a Welcome named that turned out to reach an edge the agent already holds, or one it cannot verify. */
  private readonly sameEdge = new Set<string>();
  /** Health checks of every bind's upstream, from the start of its first bind until close. */
  private readonly health: BindHealth;
  private readonly owner: LinkOwner;
  private started = false;
  private closing = false;
  private fatalError: OnrampError | undefined;
  private upWaiters: Array<{ resolve: (link: EdgeLink) => void; reject: (e: OnrampError) => void }> = [];
  private readonly stoppedPromise: Promise<OnrampError | undefined>;
  private resolveStopped!: (error: OnrampError | undefined) => void;
  private stoppedFlag = false;

  constructor(options: AgentOptions) {
    this.options = resolveAgentOptions(options);
    this.stoppedPromise = new Promise((resolve) => (this.resolveStopped = resolve));
    this.health = new BindHealth(this.options.healthCheck, (change) => this.onHealthChange(change));
    this.owner = {
      binds: this.binds,
      bindFor: (bindId) => this.binds.get(bindId) ?? this.pending.get(bindId),
      healthOf: (bindId) => this.health.stateOf(bindId),
      welcomed: () => this.onWelcome(),
      up: (link) => {
        for (const w of this.upWaiters.splice(0)) w.resolve(link);
      },
      lost: (link, error) => this.onLost(link, error),
    };
  }

  /**
   * Connects to every edge; resolves once one session is up. Rejects only on an error no retry
   * can fix (e.g. AUTH_FAILED) from any of the edges.
   */
  async start(): Promise<void> {
    this.startLinks();
    await this.connectedLink();
  }

  /** Resolves when the agent stops: undefined after close(), the error after a fatal one. */
  stopped(): Promise<OnrampError | undefined> {
    return this.stoppedPromise;
  }

  /**
   * Binds an endpoint on the first connected edge, which fixes the URL (and picks it when none is
   * given), then on every other edge; resolves after the first. Every later session binds it too.
   * A refusal no retry can fix (BIND_CONFLICT, INVALID_URL, …) stops the agent and rejects.
   */
  async bind(options: BindOptions): Promise<BoundEndpoint> {
    const weight = options.poolWeight ?? 1;
    if (!Number.isInteger(weight) || weight < 1 || weight > 1000) {
      throw new OnrampError(ErrorCode.InvalidArgument, `pool weight must be an integer from 1 to 1000, got ${weight}`);
    }
    const upstream = createUpstream(options.upstream, options.hostHeader);
    const spec: BindSpec = {
      bindId: `bind_${randomUUID()}`,
      url: options.url ?? "",
      poolingEnabled: options.poolingEnabled ?? false,
      weight,
      trafficPolicy: options.trafficPolicy ?? "",
      trafficPolicySource: options.trafficPolicySource ?? "",
      upstream,
      inspect: options.inspect ?? true,
    };
    this.startLinks();
    this.pending.set(spec.bindId, spec);
    // Probing starts with the bind rather than after it: an upstream that is down from the start
    // is known sooner, and each edge is told right after it accepts the bind.
    this.health.track(spec.bindId, upstream.url, upstream.host);
    let publicUrl: string;
    try {
      // Keep the URL the edge chose: every other edge and every reconnect binds the same one.
      ({ url: spec.url, publicUrl } = await this.firstBind(spec));
    } catch (err) {
      this.health.untrack(spec.bindId);
      void upstream.pool.destroy().catch(() => undefined);
      throw err;
    } finally {
      this.pending.delete(spec.bindId);
    }
    this.binds.set(spec.bindId, spec);
    // Links still coming up bind it themselves, since it is in `binds` now. A refusal ends that
    // link's session (it retries) or, when fatal, stops the agent; either way the link handles it.
    for (const link of this.links.values()) if (link.connected) link.bind(spec).catch(() => undefined);
    return { bindId: spec.bindId, url: spec.url, publicUrl, upstream: upstream.url };
  }

  /**
   * Unbinds everything on every edge, lets in-flight requests finish (up to `drainTimeoutMs`,
   * default the `drainTimeoutMs` option), all edges in parallel, then disconnects.
   */
  async close(drainTimeoutMs = this.options.drainTimeoutMs): Promise<void> {
    if (this.closing) return void (await this.stoppedPromise);
    this.closing = true;
    this.health.close();
    this.rejectWaiters(new OnrampError(ErrorCode.AgentDisconnected, "the agent is shutting down"));
    const bindIds = [...this.binds.keys(), ...this.pending.keys()];
    await Promise.all([...this.links.values()].map((link) => link.close(bindIds, drainTimeoutMs)));
    this.shutdown(undefined);
  }

  /** The edges the agent holds or is trying to hold sessions with. */
  edges(): AgentEdge[] {
    return [...this.links.values()].map((link) => {
      const welcome = link.session?.welcome;
      const edge: AgentEdge = { edge: link.edge, connected: link.connected, sessionId: welcome?.sessionId, region: welcome?.region, rttMs: link.session?.rttMs, extra: link.kind === "extra" };
      if (link.kind === "sibling") edge.sibling = true;
      return edge;
    });
  }

  private startLinks(): void {
    if (this.started) return;
    this.started = true;
    for (const edge of this.options.edges) this.addLink(edge, "listed");
  }

  private addLink(edge: string, kind: LinkKind): void {
    const link = new EdgeLink(edge, kind, this.options, this.owner);
    this.links.set(edge, link);
    if (kind === "extra") this.options.logger.info({ edge }, "holding a session with an extra edge named by Welcome");
    if (kind === "sibling") this.options.logger.info({ edge }, "holding a session with a sibling worker named by Welcome");
    link.start();
  }

  private async firstBind(spec: BindSpec): Promise<BoundUrls> {
    for (;;) {
      const link = await this.connectedLink();
      try {
        return await link.bind(spec);
      } catch (err) {
        const error = OnrampError.from(err, ErrorCode.AgentDisconnected);
        if (FATAL.has(error.code)) {
          this.fail(error);
          throw error;
        }
        // That link's session ended and it will retry; the next link that is up takes the bind.
      }
    }
  }

  private connectedLink(): Promise<EdgeLink> {
    if (this.fatalError) return Promise.reject(this.fatalError);
    if (this.closing) return Promise.reject(new OnrampError(ErrorCode.AgentDisconnected, "the agent is shutting down"));
    for (const link of this.links.values()) if (link.connected) return Promise.resolve(link);
    return new Promise((resolve, reject) => this.upWaiters.push({ resolve, reject }));
  }

  private onLost(link: EdgeLink, error: OnrampError): boolean {
    // An edge the agent was not told to use, whose certificate does not verify (e.g. its advertise
    // address is not a name on the certificate), is left out; the listed edges serve on.
    if (error.code === ErrorCode.EdgeUntrusted && link.kind !== "listed") {
      this.options.logger.warn({ edge: link.edge, kind: link.kind, error: error.message }, `not holding a session with ${KIND_TEXT[link.kind]} the agent cannot verify`);
      this.links.delete(link.edge);
      this.sameEdge.add(link.edge);
      return false;
    }
    if (FATAL.has(error.code)) {
      this.fail(error);
      return false;
    }
    if (link.kind !== "listed" && !this.named(link.kind, link).has(link.edge)) {
      this.options.logger.info({ edge: link.edge, kind: link.kind, error: error.message }, `lost ${KIND_TEXT[link.kind]} no Welcome names any more; dropping it`);
      this.links.delete(link.edge);
      this.addNamed();
      return false;
    }
    return true;
  }

  private onWelcome(): void {
    // An address that reaches an edge already held (same edge id) is dropped before it binds.
    const held = new Set<string>();
    for (const link of [...this.links.values()]) {
      const edgeId = link.welcome?.edgeId;
      if (!edgeId) continue;
      if (link.kind !== "listed" && held.has(edgeId)) {
        this.options.logger.info({ edge: link.edge, kind: link.kind, edgeId }, `${KIND_TEXT[link.kind]} is an edge the agent already holds; dropping it`);
        this.sameEdge.add(link.edge);
        this.links.delete(link.edge);
        link.stop(new OnrampError(ErrorCode.AgentDisconnected, `${link.edge} is edge ${edgeId}, already connected`));
      } else {
        held.add(edgeId);
      }
    }
    this.addNamed();
  }

  /**
   * Adds links to every sibling named in Welcomes, then to other edges named there, up to
   * `extraEdges`. Siblings first: an address named as both is held as a sibling, not counted.
   */
  private addNamed(): void {
    if (this.closing) return;
    for (const edge of this.named("sibling")) {
      if (!this.links.has(edge) && !this.sameEdge.has(edge)) this.addLink(edge, "sibling");
    }
    let room = this.options.extraEdges - [...this.links.values()].filter((l) => l.kind === "extra").length;
    for (const edge of this.named("extra")) {
      if (room <= 0) return;
      if (this.links.has(edge) || this.sameEdge.has(edge)) continue;
      this.addLink(edge, "extra");
      room--;
    }
  }

  /** Edges (`extra`) or siblings named in the latest Welcome of every link but `except`, in order. */
  private named(kind: "extra" | "sibling", except?: EdgeLink): Set<string> {
    const named = new Set<string>();
    for (const link of this.links.values()) {
      if (link === except || !link.welcome) continue;
      for (const edge of kind === "extra" ? link.welcome.edges : link.welcome.siblings) if (isEdgeAddress(edge)) named.add(edge);
    }
    return named;
  }

  /** Tells every edge carrying an affected bind, the logs and the status callback. */
  private onHealthChange({ upstream, bindIds, state }: HealthChange): void {
    const { logger, onStatus } = this.options;
    if (state.healthy) logger.info({ upstream, detail: state.detail }, "upstream healthy again; the edges send it traffic");
    // Info, not warn: the status goes to whoever runs the agent (the CLI prints one line for it).
    else logger.info({ upstream, detail: state.detail }, "upstream unhealthy; the edges stop sending it traffic");
    for (const bindId of bindIds) {
      for (const link of this.links.values()) link.reportHealth(bindId, state);
      onStatus({ kind: "health", bindId, upstream, healthy: state.healthy, detail: state.detail });
    }
  }

  private fail(error: OnrampError): void {
    if (this.stoppedFlag || this.fatalError) return;
    this.fatalError = error;
    // Info: the error itself reaches the caller through start()/stopped(), which reports it.
    this.options.logger.info({ code: error.code, error: error.message }, "stopping the agent");
    this.shutdown(error);
  }

  private shutdown(error: OnrampError | undefined): void {
    if (this.stoppedFlag) return;
    this.stoppedFlag = true;
    this.closing = true;
    this.health.close();
    const reason = error ?? new OnrampError(ErrorCode.AgentDisconnected, "the agent is shutting down");
    for (const link of this.links.values()) link.stop(reason);
    this.rejectWaiters(reason);
    for (const spec of [...this.binds.values(), ...this.pending.values()]) void spec.upstream.pool.destroy().catch(() => undefined);
    this.resolveStopped(error);
  }

  private rejectWaiters(reason: OnrampError): void {
    for (const w of this.upWaiters.splice(0)) w.reject(reason);
  }
}

export function createAgent(options: AgentOptions): Agent {
  return new Agent(options);
}
