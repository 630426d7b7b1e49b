import { ErrorCode, OnrampError } from "@onramp/errors";
import type { MuxOptions } from "@onramp/mux";
import { silentLogger, type Logger } from "@onramp/telemetry";

export type AgentStatus =
  | { kind: "connected"; edge: string; sessionId: string; region: string }
  | { kind: "disconnected"; edge: string; error: OnrampError; retryInMs: number }
  | { kind: "bound"; bindId: string; url: string }
  | { kind: "bind-failed"; bindId: string; error: OnrampError };

export interface AgentOptions {
  /** Edge agent addresses, host:port; the agent uses the first that answers and fails over. */
  edge: string | string[];
  authtoken?: string;
  /** Stable identity of this agent across reconnects. Default: random per process. */
  agentId?: string;
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
  mux?: MuxOptions;
  logger?: Logger;
  onStatus?: (status: AgentStatus) => void;
}

export interface ResolvedAgentOptions {
  edges: string[];
  authtoken: string;
  agentId: string;
  dataConnections: number | undefined;
  upstreamTimeoutMs: number;
  inlineBodyBytes: number;
  reconnectInitialMs: number;
  reconnectMaxMs: number;
  handshakeTimeoutMs: number;
  mux: MuxOptions;
  logger: Logger;
  onStatus: (status: AgentStatus) => void;
}

export function resolveAgentOptions(options: AgentOptions): ResolvedAgentOptions {
  const edges = (Array.isArray(options.edge) ? options.edge : [options.edge]).map((e) => e.trim()).filter(Boolean);
  if (edges.length === 0) throw bad("edge", "at least one edge address (host:port) is required");
  for (const e of edges) {
    if (!/^(\[[0-9a-fA-F:.]+\]|[^:\s/]+):\d{1,5}$/.test(e)) throw bad("edge", `${JSON.stringify(e)} is not host:port`);
  }
  const resolved: ResolvedAgentOptions = {
    edges,
    authtoken: options.authtoken ?? "",
    agentId: options.agentId ?? `agent_${Math.random().toString(36).slice(2, 12)}`,
    dataConnections: options.dataConnections,
    upstreamTimeoutMs: options.upstreamTimeoutMs ?? 60_000,
    inlineBodyBytes: options.inlineBodyBytes ?? 16 * 1024,
    reconnectInitialMs: options.reconnectInitialMs ?? 250,
    reconnectMaxMs: options.reconnectMaxMs ?? 30_000,
    handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000,
    mux: options.mux ?? {},
    logger: options.logger ?? silentLogger(),
    onStatus: options.onStatus ?? (() => undefined),
  };
  const int = (field: keyof ResolvedAgentOptions, min: number, max = Number.MAX_SAFE_INTEGER) => {
    const v = resolved[field];
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) throw bad(field, `must be an integer from ${min} to ${max}, got ${String(v)}`);
  };
  if (resolved.dataConnections !== undefined) int("dataConnections", 1, 16);
  int("upstreamTimeoutMs", 0);
  int("inlineBodyBytes", 0, 512 * 1024);
  int("reconnectInitialMs", 1);
  int("reconnectMaxMs", resolved.reconnectInitialMs);
  int("handshakeTimeoutMs", 100);
  return resolved;
}

function bad(field: string, why: string): OnrampError {
  return new OnrampError(ErrorCode.InvalidArgument, `agent option ${field}: ${why}`);
}
