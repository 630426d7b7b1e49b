import type { ConnectionCounts } from "./request-stats.js";

/**
 * What the status screen shows at one moment, computed by StatusTracker and drawn by
 * layoutStatus: plain data, so the layout is a pure function that tests can feed.
 */
export interface StatusView {
  /** The agent's version, as it sends it in every Hello. */
  readonly version: string;
  readonly session: SessionState;
  readonly edges: readonly EdgeView[];
  readonly forwarding: readonly Forwarding[];
  /** The web inspector's address, when one runs. */
  readonly inspectorUrl?: string;
  /** The agent's Prometheus endpoint, with --metrics-addr. */
  readonly metricsUrl?: string;
  readonly connections: ConnectionCounts;
  /** Most recent first. */
  readonly notices: readonly Notice[];
  /** Most recent first (by start); requests still in flight included. */
  readonly requests: readonly RequestRow[];
}

/**
 * The agent as a whole: `online` while at least one edge session is up (requests flow), else
 * `connecting` before any session was ever up and `reconnecting` after; `stopping` once a
 * SIGINT/SIGTERM began the drain.
 */
export type SessionState = "connecting" | "online" | "reconnecting" | "stopping";

export interface EdgeView {
  /** The address dialled, host:port. */
  readonly edge: string;
  readonly state: "connecting" | "online" | "reconnecting";
  readonly region?: string;
  /** Round-trip time in ms, once measured. */
  readonly rttMs?: number;
  /** Not online: time until the next try in ms (0: trying now), and why the last one failed. */
  readonly retryInMs?: number;
  readonly reason?: string;
}

export interface Forwarding {
  /** Where clients reach the endpoint, as it works when typed. */
  readonly url: string;
  readonly upstream: string;
}

export type NoticeLevel = "info" | "warn" | "error";

export interface Notice {
  /** Date.now() when it came. */
  readonly at: number;
  readonly level: NoticeLevel;
  /** One line, without the "onramp: " prefix stderr lines have. */
  readonly text: string;
}

export interface RequestRow {
  /** Date.now() when the request head reached the agent. */
  readonly at: number;
  readonly method: string;
  readonly path: string;
  /** Undefined while in flight. */
  readonly result?: RequestResult;
}

export interface RequestResult {
  /** The upstream's status; undefined when none came (refused, timed out, client gone). */
  readonly status?: number;
  /** The error code when the exchange failed, e.g. UPSTREAM_REFUSED. */
  readonly errorCode?: string;
  readonly durationMs: number;
}
