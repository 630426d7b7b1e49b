import { ErrorCode, OnrampError, parseErrorCode } from "@onramp/errors";
import type { Welcome } from "@onramp/proto";
import { Backoff } from "./backoff.js";
import { failureOf, underlyingText } from "./connection-problem.js";
import { EdgeSession, type BindSpec } from "./edge-session.js";
import type { HealthState } from "./health-check.js";
import type { ResolvedAgentOptions } from "./options.js";

/** The soonest an agent asks an edge again when the edge named a time (`retryAfterMs`). */
const MIN_RETRY_AFTER_MS = 50;

/** What a link needs from the agent that owns it. */
export interface LinkOwner {
  /** The endpoints every session carries, in bind order. A spec joins once its URL is known. */
  readonly binds: ReadonlyMap<string, BindSpec>;
  bindFor(bindId: string): BindSpec | undefined;
  /** The bind's upstream health; undefined when it is not checked. */
  healthOf(bindId: string): HealthState | undefined;
  /** A session got its Welcome (before any bind). */
  welcomed(link: EdgeLink): void;
  /** A session is up: it carries every bind. */
  up(link: EdgeLink): void;
  /** A session ended. True: reconnect after backoff; false: the link ends. */
  lost(link: EdgeLink, error: OnrampError): boolean;
}

/** What an edge answers to a bind: the URL bound (the same on every edge) and where clients reach it through that edge. */
export interface BoundUrls {
  readonly url: string;
  readonly publicUrl: string;
}

/**
 * Why the agent holds a session with an edge: listed in its options, an extra edge of the mesh
 * named by a Welcome (`extraEdges`), or a sibling: another worker process of an edge it holds,
 * named by a Welcome (`siblings`) and held whatever `extraEdges` says.
 */
export type LinkKind = "listed" | "extra" | "sibling";

/** One session attempt and the binds sent on it, each sent once. */
interface Attempt {
  readonly session: EdgeSession;
  readonly binds: Map<string, Promise<BoundUrls>>;
  /** Binds the edge accepted on this session: the ones it takes health reports for. */
  readonly bound: Set<string>;
  /** The edge sent its Welcome: a connection failure from here on loses a session. */
  welcomed: boolean;
  up: boolean;
}

/**
 * The agent's link with one edge: a session, and after it ends another one after jittered
 * backoff, for as long as the owner wants. A session counts as up once it carries every bind, so
 * a reconnect brings back the same URLs before the agent relies on it.
 */
export class EdgeLink {
  /** The latest Welcome from this edge; kept while reconnecting. */
  welcome: Welcome | undefined;
  private attempt: Attempt | undefined;
  private readonly backoff: Backoff;
  private stopping = false;
  private wake: (() => void) | undefined;
  private done: Promise<void> = Promise.resolve();

  constructor(
    readonly edge: string,
    readonly kind: LinkKind,
    private readonly options: ResolvedAgentOptions,
    private readonly owner: LinkOwner,
  ) {
    this.backoff = new Backoff(options.reconnectInitialMs, options.reconnectMaxMs);
  }

  /** Up, carrying every bind, and not draining. */
  get connected(): boolean {
    const a = this.attempt;
    return a !== undefined && a.up && !a.session.isEnded && !a.session.isDraining;
  }

  get session(): EdgeSession | undefined {
    return this.connected ? this.attempt?.session : undefined;
  }

  start(): void {
    this.done = this.run();
  }

  /** Binds on the current session, once per session; rejects when not connected or refused. */
  bind(spec: BindSpec): Promise<BoundUrls> {
    const a = this.attempt;
    if (!a || !this.connected) return Promise.reject(new OnrampError(ErrorCode.AgentDisconnected, `not connected to ${this.edge}`));
    return this.bindOn(a, spec);
  }

  /**
   * Tells this edge a bind's upstream changed health, if the bind is established on the current
   * session; a bind still in flight gets the then current health as soon as it is accepted.
   */
  reportHealth(bindId: string, health: HealthState): void {
    const a = this.attempt;
    if (a?.bound.has(bindId)) a.session.reportHealth(bindId, health);
  }

  /** Stops reconnecting; if a session is up, unbinds `bindIds` and drains it (up to `timeoutMs`). */
  async close(bindIds: string[], timeoutMs: number): Promise<void> {
    this.stopping = true;
    this.wake?.();
    const a = this.attempt;
    if (a?.up && !a.session.isEnded) {
      await Promise.all(bindIds.map((id) => a.session.unbind(id)));
      await a.session.drain(timeoutMs);
    } else {
      a?.session.end(new OnrampError(ErrorCode.AgentDisconnected, "the agent is shutting down"));
    }
    await this.done;
  }

  /** Ends the session now and stops reconnecting. */
  stop(reason: OnrampError): void {
    this.stopping = true;
    this.wake?.();
    this.attempt?.session.end(reason);
  }

  private async run(): Promise<void> {
    const { logger, onStatus } = this.options;
    while (!this.stopping) {
      const session = new EdgeSession(this.edge, this.options, (bindId) => this.owner.bindFor(bindId));
      const attempt: Attempt = { session, binds: new Map(), bound: new Set(), welcomed: false, up: false };
      this.attempt = attempt;
      try {
        await session.open();
        attempt.welcomed = true;
        this.welcome = session.welcome;
        this.owner.welcomed(this);
        // Every endpoint, including those the agent adds while this runs.
        for (let spec = this.unbound(attempt); spec; spec = this.unbound(attempt)) await this.bindOn(attempt, spec);
        if (!session.isEnded) {
          attempt.up = true;
          this.backoff.reset();
          const { sessionId, region } = session.welcome;
          logger.info({ edge: this.edge, session: sessionId, region, kind: this.kind }, "connected to edge");
          onStatus({ kind: "connected", edge: this.edge, sessionId, region });
          this.owner.up(this);
        }
      } catch (err) {
        session.end(OnrampError.from(err, ErrorCode.AgentDisconnected));
      }
      // The first reason the session ended, e.g. the refused bind rather than what that caused.
      const error = await session.ended();
      attempt.up = false;
      if (this.stopping || !this.owner.lost(this, error)) break;
      const delay = this.retryDelay(error);
      const { problem, reason } = failureOf(error, attempt.welcomed);
      // The status is how callers hear of it (the CLI prints one line); a log line at warn would
      // say it again at every retry. A lost session is worth a line at info, retries at debug.
      const detail = { edge: this.edge, problem, reason, code: error.code, error: error.message, cause: underlyingText(error), retryInMs: delay };
      if (problem === "lost" || problem === "draining") logger.info(detail, "lost the edge; reconnecting");
      else logger.debug(detail, "no session with the edge; retrying");
      onStatus({ kind: "disconnected", edge: this.edge, error, retryInMs: delay, problem, reason });
      await this.sleep(delay);
    }
    this.attempt = undefined;
  }

  /**
   * The backoff's next delay; but an edge that said when to ask again (its workers are starting)
   * is asked then (at least 50 ms on: an edge saying 0 must not be asked in a loop), plus up to as
   * much again at random so agents spread out, and the backoff stays where it was.
   */
  private retryDelay(error: OnrampError): number {
    const hint = error.retryAfterMs;
    if (hint === undefined) return this.backoff.next();
    return Math.round(Math.min(Math.max(hint, MIN_RETRY_AFTER_MS), this.options.reconnectMaxMs) * (1 + Math.random()));
  }

  private unbound(attempt: Attempt): BindSpec | undefined {
    for (const spec of this.owner.binds.values()) if (!attempt.binds.has(spec.bindId)) return spec;
    return undefined;
  }

  private bindOn(attempt: Attempt, spec: BindSpec): Promise<BoundUrls> {
    let url = attempt.binds.get(spec.bindId);
    if (!url) {
      url = this.sendBind(attempt, spec);
      // Callers handle the rejection; this keeps a bind nobody waits for from being "unhandled".
      url.catch(() => undefined);
      attempt.binds.set(spec.bindId, url);
    }
    return url;
  }

  private async sendBind(attempt: Attempt, spec: BindSpec): Promise<BoundUrls> {
    const session = attempt.session;
    const result = await session.bind(spec);
    if (result.error) {
      const error = new OnrampError(parseErrorCode(result.error.code), result.error.message);
      // Reported by the bind-failed status, and again by start()/bind() or as the session's end.
      this.options.logger.info({ edge: this.edge, bindId: spec.bindId, url: spec.url, code: error.code, error: error.message }, "bind refused");
      this.options.onStatus({ kind: "bind-failed", bindId: spec.bindId, error, edge: this.edge });
      // The session ends: the loop retries later and rebinds, or stops the agent if the error is fatal.
      session.end(error);
      throw error;
    }
    // The edge takes a new bind (a first one, or again after a reconnect) as healthy: correct it
    // at once. From here on, changes reach this session through reportHealth.
    attempt.bound.add(spec.bindId);
    const health = this.owner.healthOf(spec.bindId);
    if (health && !health.healthy) session.reportHealth(spec.bindId, health);
    this.options.onStatus({ kind: "bound", bindId: spec.bindId, url: result.url, edge: this.edge });
    return { url: result.url, publicUrl: result.publicUrl || result.url };
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wake = wake;
    });
  }
}
