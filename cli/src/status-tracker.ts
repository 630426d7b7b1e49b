import type { AgentEdge, AgentStatus, ExchangeInfo, ExchangeObserver } from "@onramp/agent";
import { RequestStats } from "./request-stats.js";
import type { EdgeView, Forwarding, Notice, NoticeLevel, RequestRow, RequestResult, SessionState, StatusView } from "./status-view.js";

/** Notices kept: the screen shows at most 5, and older ones are in the log if it goes to a file. */
const KEPT_NOTICES = 20;

/** Requests kept for the list: more rows than a terminal has, even a tall one. */
const KEPT_REQUESTS = 200;

/** What the statuses said about one edge, for what AgentEdge does not carry (why, and when the next try is). */
interface EdgeNote {
  everUp: boolean;
  region?: string;
  /** Date.now() of the next try, after a `disconnected`. */
  retryAt?: number;
  reason?: string;
}

interface MutableRow {
  at: number;
  method: string;
  path: string;
  result?: RequestResult;
}

export interface StatusTrackerOptions {
  version: string;
  /** Called after anything shown changed; the screen throttles its redraws. */
  changed?: () => void;
  /** Default Date.now; tests pass their own clock. */
  now?: () => number;
}

/**
 * Everything the status screen shows, gathered from the agent's statuses, its exchange observer
 * seam, the CLI's notices, and `agent.edges()` (for latency and extra edges), turned into a
 * StatusView on demand. No I/O: the screen owns the terminal.
 */
export class StatusTracker {
  private readonly now: () => number;
  private readonly stats = new RequestStats();
  private readonly notes = new Map<string, EdgeNote>();
  private readonly forwards: Forwarding[] = [];
  private readonly notices: Notice[] = [];
  private readonly rows: MutableRow[] = [];
  private edgeSource: (() => readonly AgentEdge[]) | undefined;
  private inspectorUrl: string | undefined;
  private metricsUrl: string | undefined;
  private stoppingFlag = false;

  constructor(private readonly options: StatusTrackerOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The agent's list of edges (connected, region, latency, extras), read at every view. */
  watchEdges(source: () => readonly AgentEdge[]): void {
    this.edgeSource = source;
    this.changed();
  }

  onStatus(status: AgentStatus): void {
    if (status.kind === "connected") {
      this.notes.set(status.edge, { everUp: true, region: status.region });
    } else if (status.kind === "disconnected") {
      const note = this.noteOf(status.edge);
      note.retryAt = this.now() + status.retryInMs;
      note.reason = status.reason;
    } else {
      return;
    }
    this.changed();
  }

  /** For the agent's `observe` option: counts every request and keeps the latest for the list. */
  observe = (info: ExchangeInfo): ExchangeObserver => {
    this.stats.started(this.now());
    const row: MutableRow = { at: info.startedAt, method: info.method, path: info.path };
    this.rows.unshift(row);
    if (this.rows.length > KEPT_REQUESTS) this.rows.pop();
    this.changed();
    let status: number | undefined;
    return {
      response: (s) => void (status = s),
      end: (outcome) => {
        this.stats.ended(outcome.durationMs);
        row.result = { status: outcome.status ?? status, errorCode: outcome.error?.code, durationMs: outcome.durationMs };
        this.changed();
      },
    };
  };

  notice(level: NoticeLevel, text: string): void {
    const trimmed = text.replace(/^onramp: /, "").trimEnd();
    if (!trimmed) return;
    this.notices.unshift({ at: this.now(), level, text: trimmed });
    if (this.notices.length > KEPT_NOTICES) this.notices.pop();
    this.changed();
  }

  forwarding(url: string, upstream: string): void {
    this.forwards.push({ url, upstream });
    this.changed();
  }

  setMetricsUrl(url: string | undefined): void {
    this.metricsUrl = url;
  }

  setInspectorUrl(url: string | undefined): void {
    this.inspectorUrl = url;
    this.changed();
  }

  /** Shutdown began: the session shows `stopping` while in-flight requests drain. */
  stopping(): void {
    this.stoppingFlag = true;
    this.changed();
  }

  view(): StatusView {
    const now = this.now();
    const edges = this.edgeViews(now);
    return {
      version: this.options.version,
      session: this.sessionState(edges),
      edges,
      forwarding: [...this.forwards],
      inspectorUrl: this.inspectorUrl,
      metricsUrl: this.metricsUrl,
      connections: this.stats.counts(now),
      notices: [...this.notices],
      requests: this.rows.map((r): RequestRow => ({ ...r })),
    };
  }

  private sessionState(edges: readonly EdgeView[]): SessionState {
    if (this.stoppingFlag) return "stopping";
    if (edges.some((e) => e.state === "online")) return "online";
    return [...this.notes.values()].some((n) => n.everUp) ? "reconnecting" : "connecting";
  }

  /** The agent's edges when it is known (extras included, dropped ones gone), else the ones statuses named. */
  private edgeViews(now: number): EdgeView[] {
    const listed = this.edgeSource?.() ?? [...this.notes.entries()].map(([edge, n]): AgentEdge => ({ edge, connected: n.retryAt === undefined && n.everUp, region: n.region, extra: false }));
    return listed.map((e) => {
      const note = this.notes.get(e.edge);
      if (e.connected) return { edge: e.edge, state: "online", region: e.region ?? note?.region, rttMs: e.rttMs };
      const state = note?.everUp ? "reconnecting" : "connecting";
      const retryInMs = note?.retryAt === undefined ? undefined : Math.max(0, note.retryAt - now);
      return { edge: e.edge, state, retryInMs, reason: note?.reason };
    });
  }

  private noteOf(edge: string): EdgeNote {
    let note = this.notes.get(edge);
    if (!note) this.notes.set(edge, (note = { everUp: false }));
    return note;
  }

  private changed(): void {
    this.options.changed?.();
  }
}
