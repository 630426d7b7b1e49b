import { ErrorCode, OnrampError } from "@onramp/errors";
import type { MuxOptions } from "@onramp/mux";
import { silentLogger, type Logger, type Tracing } from "@onramp/telemetry";
import type { ObserveExchange } from "./exchange-observer.js";
import { randomUUID } from "node:crypto";
import type { ConnectionProblem } from "./connection-problem.js";
import type { EdgeTlsSettings } from "./edge-tls.js";

export type AgentStatus =
  | { kind: "connected"; edge: string; sessionId: string; region: string }
  /**
   * A session attempt failed, or a session ended; the link tries again after `retryInMs`.
   * `problem` and `reason` say why in plain words, without library text (e.g. "refused",
   * "connection refused"); "lost" only once the edge had welcomed the session. `error` keeps the
   * details.
   * Errors that stop the agent (AUTH_FAILED, …) end the link without this status: `start()` and
   * `stopped()` report them.
   */
  | { kind: "disconnected"; edge: string; error: OnrampError; retryInMs: number; problem: ConnectionProblem; reason: string }
  | { kind: "bound"; bindId: string; url: string; edge: string }
  | { kind: "bind-failed"; bindId: string; error: OnrampError; edge: string }
  /** The endpoint's upstream changed health (see `healthCheck`); every edge carrying the bind was told. */
  | { kind: "health"; bindId: string; upstream: string; healthy: boolean; detail: string };

/**
 * Active checks of each upstream, whose results the edges act on: an unhealthy member stops
 * receiving traffic at every edge. One set of settings applies to every bind of the agent.
 */
export interface HealthCheckOptions {
  /**
   * Path to GET, e.g. "/healthz"; any status 200–399 within the timeout passes. Default none: the
   * check is a TCP connect to the upstream's host:port, which any upstream answers.
   */
  path?: string;
  /**
   * Time from the start of one probe to the start of the next, in ms; 0 disables checks. Default
   * 2 s: with the default thresholds and timeout a dead upstream leaves the pools within 2–5 s.
   */
  intervalMs?: number;
  /**
   * Time one probe has, in ms; less than the interval, so probes never overlap. Default 1 s, or
   * half the interval when that is shorter.
   */
  timeoutMs?: number;
  /** Consecutive passes that make an unhealthy upstream healthy again, 1–10. Default 2: one lucky answer from a flapping upstream brings no traffic back. */
  healthyThreshold?: number;
  /** Consecutive failures that make a healthy upstream unhealthy, 1–10. Default 2: one lost probe takes nothing out of the pools. */
  unhealthyThreshold?: number;
}

/** Health checks as the agent runs them; `undefined` in `ResolvedAgentOptions` when disabled. */
export interface HealthCheckSettings {
  path: string | undefined;
  intervalMs: number;
  timeoutMs: number;
  healthyThreshold: number;
  unhealthyThreshold: number;
}

export interface AgentOptions {
  /**
   * Edge agent addresses, host:port. The agent holds a session with every one at the same time,
   * binds every endpoint on each, and retries a lost one with backoff while the others serve.
   */
  edge: string | string[];
  authtoken?: string;
  /**
   * PEM certificates (not a file name) to verify edges' TLS certificates with, instead of the
   * system CAs. Also turns TLS on for loopback edges, which otherwise get plaintext.
   */
  edgeCa?: string;
  /**
   * Plaintext to every edge, even one that is not on loopback: only on a network you trust (a
   * private Docker network). Default false: TLS to every edge not on loopback.
   */
  insecureEdge?: boolean;
  /**
   * Identity of this agent, sent in every Hello and the same on every edge and reconnect, so the
   * edges of a mesh recognise one agent (and its stale bindings) on several edges. 1–64 of
   * `A–Z a–z 0–9 . _ : @ -`. Default: random per process.
   */
  agentId?: string;
  /**
   * Sessions to hold, besides the listed edges, with other edges named in any Welcome (0–16).
   * Default 0: exactly one session per listed edge, which scripts rely on. The other worker
   * processes of an edge (Welcome `siblings`) are held whatever this says, and not counted.
   */
  extraEdges?: number;
  /**
   * How long in-flight requests may run when the agent drains, in ms: when an edge sends a drain
   * command, and the default for `close()`. Default 30 s (what `close()` always gave). An edge that
   * asks for a drain closes its side after its own drain timeout (10 s by default) anyway.
   */
  drainTimeoutMs?: number;
  /** Data connections to open per session; the edge's Welcome may ask for another number. Default: the edge's. */
  dataConnections?: number;
  /** Time the upstream has to send response headers, in ms; then 504. 0 disables. Default 60 s (nginx's proxy_read_timeout). */
  upstreamTimeoutMs?: number;
  /** Responses up to this size ride in the head frame, in bytes. Default 16 KiB. */
  inlineBodyBytes?: number;
  /** First reconnect delay in ms; doubles per failure up to `reconnectMaxMs`, with full jitter. Default 250 ms. */
  reconnectInitialMs?: number;
  /** Longest reconnect delay in ms. Default 30 s. */
  reconnectMaxMs?: number;
  /** Time for Hello/Welcome and data connection handshakes, in ms. Default 10 s. */
  handshakeTimeoutMs?: number;
  /** Active upstream health checks; on by default (a TCP connect every 2 s), off with `intervalMs: 0`. */
  healthCheck?: HealthCheckOptions;
  mux?: MuxOptions;
  logger?: Logger;
  onStatus?: (status: AgentStatus) => void;
  /**
   * Spans for every request (a server span under the edge's, a client span for the call to the
   * upstream, whose traceparent names it). Default none: tracing is off and costs nothing.
   */
  tracing?: Tracing;
  /** Called at the start of every request forwarded to an upstream (inspector, status screen, metrics). */
  observe?: ObserveExchange;
}

export interface ResolvedAgentOptions {
  edges: string[];
  authtoken: string;
  /** How edges are verified; see `usesTls`. */
  tls: EdgeTlsSettings;
  agentId: string;
  extraEdges: number;
  drainTimeoutMs: number;
  dataConnections: number | undefined;
  upstreamTimeoutMs: number;
  inlineBodyBytes: number;
  reconnectInitialMs: number;
  reconnectMaxMs: number;
  handshakeTimeoutMs: number;
  healthCheck: HealthCheckSettings | undefined;
  mux: MuxOptions;
  logger: Logger;
  onStatus: (status: AgentStatus) => void;
  tracing: Tracing | undefined;
  observe: ObserveExchange | undefined;
}

export function resolveAgentOptions(options: AgentOptions): ResolvedAgentOptions {
  // One session per address: a repeated address is the same edge.
  const edges = [...new Set((Array.isArray(options.edge) ? options.edge : [options.edge]).map((e) => e.trim()).filter(Boolean))];
  if (edges.length === 0) throw bad("edge", "at least one edge address (host:port) is required");
  for (const e of edges) {
    if (!isEdgeAddress(e)) throw bad("edge", `${JSON.stringify(e)} is not host:port`);
  }
  if (options.agentId !== undefined && !AGENT_ID.test(options.agentId)) {
    throw bad("agentId", `${JSON.stringify(options.agentId)} must be 1 to 64 characters of A-Z a-z 0-9 . _ : @ -`);
  }
  const resolved: ResolvedAgentOptions = {
    edges,
    authtoken: options.authtoken ?? "",
    tls: resolveTls(options),
    agentId: options.agentId ?? `agent_${randomUUID()}`,
    extraEdges: options.extraEdges ?? 0,
    drainTimeoutMs: options.drainTimeoutMs ?? 30_000,
    dataConnections: options.dataConnections,
    upstreamTimeoutMs: options.upstreamTimeoutMs ?? 60_000,
    inlineBodyBytes: options.inlineBodyBytes ?? 16 * 1024,
    reconnectInitialMs: options.reconnectInitialMs ?? 250,
    reconnectMaxMs: options.reconnectMaxMs ?? 30_000,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000,
    healthCheck: resolveHealthCheck(options.healthCheck ?? {}),
    mux: options.mux ?? {},
    logger: options.logger ?? silentLogger(),
    onStatus: options.onStatus ?? (() => undefined),
    tracing: options.tracing,
    observe: options.observe,
  };
  const int = (field: keyof ResolvedAgentOptions, min: number, max = Number.MAX_SAFE_INTEGER) => {
    const v = resolved[field];
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) throw bad(field, `must be an integer from ${min} to ${max}, got ${String(v)}`);
  };
  int("extraEdges", 0, 16);
  int("drainTimeoutMs", 0);
  if (resolved.dataConnections !== undefined) int("dataConnections", 1, 16);
  int("upstreamTimeoutMs", 0);
  int("inlineBodyBytes", 0, 512 * 1024);
  int("reconnectInitialMs", 1);
  int("reconnectMaxMs", resolved.reconnectInitialMs);
  int("handshakeTimeoutMs", 100);
  return resolved;
}

function resolveTls(options: AgentOptions): EdgeTlsSettings {
  const ca = options.edgeCa?.trim() ? options.edgeCa : undefined;
  const insecure = options.insecureEdge ?? false;
  if (ca !== undefined && insecure) throw bad("insecureEdge", "plaintext to every edge and a CA to verify them with (edgeCa) contradict each other; give one");
  if (ca !== undefined && !ca.includes("-----BEGIN CERTIFICATE-----")) throw bad("edgeCa", "must be PEM certificates (-----BEGIN CERTIFICATE-----)");
  return { ca, insecure };
}

function resolveHealthCheck(options: HealthCheckOptions): HealthCheckSettings | undefined {
  const int = (field: keyof HealthCheckOptions, value: number, min: number, max = Number.MAX_SAFE_INTEGER) => {
    if (!Number.isInteger(value) || value < min || value > max) throw bad(`healthCheck.${field}`, `must be an integer from ${min} to ${max}, got ${String(value)}`);
    return value;
  };
  const { path } = options;
  // Node refuses a request path with spaces or control characters; say so before the first probe.
  if (path !== undefined && !/^\/[\x21-\x7e]*$/.test(path)) {
    throw bad("healthCheck.path", `${JSON.stringify(path)} must start with "/" and contain no spaces or control characters`);
  }
  const healthyThreshold = int("healthyThreshold", options.healthyThreshold ?? 2, 1, 10);
  const unhealthyThreshold = int("unhealthyThreshold", options.unhealthyThreshold ?? 2, 1, 10);
  const intervalMs = options.intervalMs ?? 2_000;
  if (intervalMs === 0) {
    if (options.timeoutMs !== undefined) int("timeoutMs", options.timeoutMs, 1);
    return undefined;
  }
  // Probing more than 100 times a second tells nothing more and costs the upstream.
  if (!Number.isInteger(intervalMs) || intervalMs < 10) throw bad("healthCheck.intervalMs", `must be 0 (no checks) or an integer of at least 10, got ${String(intervalMs)}`);
  const timeoutMs = int("timeoutMs", options.timeoutMs ?? Math.min(1_000, Math.floor(intervalMs / 2)), 1);
  if (timeoutMs >= intervalMs) throw bad("healthCheck.timeoutMs", `must be less than healthCheck.intervalMs (${intervalMs}), got ${timeoutMs}`);
  return { path, intervalMs, timeoutMs, healthyThreshold, unhealthyThreshold };
}

const AGENT_ID = /^[A-Za-z0-9._:@-]{1,64}$/;

/**
 * A fixed Host for a bind's upstream (`BindOptions.hostHeader` other than "rewrite"): a host as
 * RFC 9110 §7.2 allows it (a name or IPv4 address, or an IPv6 address in brackets) and an optional
 * port. Checked when the endpoint is bound, not per request.
 */
export function isHostHeader(value: string): boolean {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_][A-Za-z0-9._~-]*)(?::(\d{1,5}))?$/.exec(value);
  return m !== null && (m[2] === undefined || (Number(m[2]) >= 1 && Number(m[2]) <= 65_535));
}

/** host:port, with an IPv6 host in brackets; also used for the edges a Welcome names. */
export function isEdgeAddress(value: string): boolean {
  return /^(\[[0-9a-fA-F:.]+\]|[^:\s/]+):\d{1,5}$/.test(value);
}

function bad(field: string, why: string): OnrampError {
  return new OnrampError(ErrorCode.InvalidArgument, `agent option ${field}: ${why}`);
}
