import { ErrorCode, OnrampError, parseErrorCode } from "@onramp/errors";
import { randomUUID } from "node:crypto";
import { Backoff } from "./backoff.js";
import { EdgeSession, type BindSpec } from "./edge-session.js";
import { resolveAgentOptions, type AgentOptions, type ResolvedAgentOptions } from "./options.js";
import { createUpstream } from "./upstream.js";

export interface BindOptions {
  /** Upstream to forward to: a port, host:port or URL. */
  upstream: string;
  /** URL to bind; empty asks the edge for a random one (kept across reconnects). */
  url?: string;
  poolingEnabled?: boolean;
  trafficPolicy?: string;
}

export interface BoundEndpoint {
  readonly bindId: string;
  readonly url: string;
  readonly upstream: string;
}

/** Errors no reconnect can fix: the agent stops and reports them. */
const FATAL = new Set<ErrorCode>([ErrorCode.AuthFailed, ErrorCode.BindConflict, ErrorCode.InvalidUrl, ErrorCode.InvalidArgument, ErrorCode.PolicyInvalid]);

/**
 * An agent: keeps a session with an edge, rebinds its endpoints after every reconnect, and
 * forwards requests to upstreams. Reconnects use jittered exponential backoff and rotate through
 * the configured edges.
 */
export class Agent {
  readonly options: ResolvedAgentOptions;
  private session: EdgeSession | undefined;
  private readonly binds = new Map<string, BindSpec>();
  private readonly backoff: Backoff;
  private edgeIndex = 0;
  private closing = false;
  private started = false;
  private fatalError: OnrampError | undefined;
  private sessionWaiters: Array<{ resolve: (s: EdgeSession) => void; reject: (e: OnrampError) => void }> = [];
  private readonly stoppedPromise: Promise<OnrampError | undefined>;
  private resolveStopped!: (error: OnrampError | undefined) => void;

  constructor(options: AgentOptions) {
    this.options = resolveAgentOptions(options);
    this.backoff = new Backoff(this.options.reconnectInitialMs, this.options.reconnectMaxMs);
    this.stoppedPromise = new Promise((resolve) => (this.resolveStopped = resolve));
  }

  /** Connects; resolves once a session is up. Rejects only on errors a retry cannot fix (bad authtoken). */
  async start(): Promise<void> {
    if (!this.started) {
      this.started = true;
      void this.run();
    }
    await this.currentSession();
  }

  /** Resolves when the agent stops: undefined after close(), the error after a fatal one. */
  stopped(): Promise<OnrampError | undefined> {
    return this.stoppedPromise;
  }

  /** Binds an endpoint; rejects with BIND_CONFLICT, INVALID_URL, etc. Rebound after reconnects. */
  async bind(options: BindOptions): Promise<BoundEndpoint> {
    const upstream = createUpstream(options.upstream, { timeoutMs: this.options.upstreamTimeoutMs });
    const spec: BindSpec = {
      bindId: `bind_${randomUUID()}`,
      url: options.url ?? "",
      poolingEnabled: options.poolingEnabled ?? false,
      trafficPolicy: options.trafficPolicy ?? "",
      upstream,
    };
    const session = await this.currentSession();
    const url = await this.bindOn(session, spec);
    this.binds.set(spec.bindId, spec);
    return { bindId: spec.bindId, url, upstream: upstream.url };
  }

  /** Unbinds everything, lets in-flight requests finish (up to `drainTimeoutMs`), then disconnects. */
  async close(drainTimeoutMs = 30_000): Promise<void> {
    if (this.closing) return void (await this.stoppedPromise);
    this.closing = true;
    const session = this.session;
    if (session && !session.isEnded) {
      await Promise.all([...this.binds.keys()].map((id) => session.unbind(id)));
      await session.drain(drainTimeoutMs);
    }
    this.stop(undefined);
  }

  private async bindOn(session: EdgeSession, spec: BindSpec): Promise<string> {
    const result = await session.bind(spec);
    if (result.error) {
      const error = new OnrampError(parseErrorCode(result.error.code), result.error.message);
      this.options.onStatus({ kind: "bind-failed", bindId: spec.bindId, error });
      throw error;
    }
    // Keep the URL the edge chose, so a reconnect brings the same URL back.
    spec.url = result.url;
    this.options.onStatus({ kind: "bound", bindId: spec.bindId, url: result.url });
    return result.url;
  }

  private currentSession(): Promise<EdgeSession> {
    if (this.fatalError) return Promise.reject(this.fatalError);
    if (this.closing) return Promise.reject(new OnrampError(ErrorCode.AgentDisconnected, "the agent is shutting down"));
    if (this.session && !this.session.isEnded) return Promise.resolve(this.session);
    return new Promise((resolve, reject) => this.sessionWaiters.push({ resolve, reject }));
  }

  private async run(): Promise<void> {
    const log = this.options.logger;
    while (!this.closing && !this.fatalError) {
      const edge = this.options.edges[this.edgeIndex % this.options.edges.length]!;
      const session = new EdgeSession(edge, this.options, (bindId) => this.binds.get(bindId)?.upstream);
      let error: OnrampError;
      try {
        await session.open();
        for (const spec of this.binds.values()) await this.bindOn(session, spec);
        this.session = session;
        this.backoff.reset();
        log.info({ edge, session: session.welcome.sessionId, region: session.welcome.region }, "connected to edge");
        this.options.onStatus({ kind: "connected", edge, sessionId: session.welcome.sessionId, region: session.welcome.region });
        for (const w of this.sessionWaiters.splice(0)) w.resolve(session);
        error = await session.ended();
      } catch (err) {
        error = OnrampError.from(err, ErrorCode.AgentDisconnected);
        session.end(error);
      }
      this.session = undefined;
      if (this.closing) break;
      if (FATAL.has(error.code)) {
        this.stop(error);
        return;
      }
      const delay = this.backoff.next();
      this.edgeIndex++;
      log.warn({ edge, error: error.message, retryInMs: delay }, "lost the edge; reconnecting");
      this.options.onStatus({ kind: "disconnected", edge, error, retryInMs: delay });
      await new Promise((r) => setTimeout(r, delay));
    }
  }

  private stop(error: OnrampError | undefined): void {
    if (error) this.fatalError = error;
    this.closing = true;
    this.session?.end(error ?? new OnrampError(ErrorCode.AgentDisconnected, "agent closed"));
    const reason = error ?? new OnrampError(ErrorCode.AgentDisconnected, "the agent is shutting down");
    for (const w of this.sessionWaiters.splice(0)) w.reject(reason);
    this.resolveStopped(error);
  }
}

export function createAgent(options: AgentOptions): Agent {
  return new Agent(options);
}
