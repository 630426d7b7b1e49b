import type { HealthCheckOptions } from "@onramp/agent";
import { ErrorCode, OnrampError } from "@onramp/errors";
import type { Command } from "commander";
import { loadAgentConfig, type AgentConfig } from "./agent-config.js";
import { readTextFile } from "./config-file.js";
import { defaultAgentConfigPath } from "./config-paths.js";
import { edgeAddressProblem } from "./edge-address.js";
import { addHealthCheckFlags, healthCheckOptions, type HealthCheckFlags } from "./health-check-flags.js";
import { addInspectFlags, resolveInspectSettings, type InspectFlags, type InspectSettings } from "./inspect-flags.js";
import { addLogFlags, type LogFlags } from "./log-flags.js";
import { addMetricsFlag, resolveMetricsAddr, type MetricsAddr } from "./metrics-flags.js";
import { parseDuration } from "./units.js";

/** The agent settings flags of `onramp http` and `onramp start`, as commander hands them over. */
export interface AgentFlags extends HealthCheckFlags, LogFlags, InspectFlags {
  config?: string;
  edge?: string[] | string;
  extraEdges?: string;
  agentId?: string;
  authtoken?: string;
  edgeCa?: string;
  insecureEdge?: boolean;
  upstreamTimeout?: string;
  drainTimeout?: string;
  metricsAddr?: string;
  port?: string;
  /** `--status <bool>` gives a string, `--no-status` false. */
  status?: string | boolean;
}

/** Settings of one agent process, merged: flags > ONRAMP_* variables > config file > defaults. */
export interface AgentSettings {
  readonly config: AgentConfig;
  /** Empty: run the embedded edge. */
  readonly edges: readonly string[];
  readonly authtoken?: string;
  /** The PEM text of `--edge-ca` (or `edge_ca`): CAs to verify edges with instead of the system's. */
  readonly edgeCa?: string;
  /** `--insecure-edge` (or `insecure_edge: true`): plaintext to every edge. */
  readonly insecureEdge: boolean;
  readonly agentId?: string;
  readonly extraEdges?: number;
  readonly upstreamTimeoutMs?: number;
  /** 30 s by default: long enough for most requests in flight to finish, short enough for Ctrl-C. */
  readonly drainTimeoutMs: number;
  /** The log flags over the config's log settings; loggerFrom checks them and defaults the level to warn. */
  readonly log: LogFlags;
  readonly healthCheck: HealthCheckOptions;
  /** The embedded edge's HTTP port when chosen; undefined: 8080 or the next free one. */
  readonly embeddedPort?: number;
  /** Where to serve Prometheus metrics (`--metrics-addr`); undefined: off, the default. */
  readonly metricsAddr?: MetricsAddr;
  /**
   * Show the live status screen when stdout is a terminal (see status-screen.ts). Default true, as
   * ngrok's agent does; false (`--status=false`, `--no-status`) keeps plain lines on a terminal.
   */
  readonly statusScreen: boolean;
  /** The request inspector: off, the default address (4040 or the next free port), or one asked for. */
  readonly inspect: InspectSettings;
}

/** Adds the settings every agent command takes; none has a commander default, so the config file can fill in. */
export function addAgentFlags(command: Command): Command {
  command
    .option("--config <file>", "agent config file (default: the one onramp config path prints); flags and ONRAMP_* variables override it")
    .option("--edge <host:port...>", "edge agent address(es); repeat or comma-separate: the agent holds a session with each and serves through the others while one is down (default: the config's edges, else an embedded edge)")
    .option("--extra-edges <n>", "also hold sessions with up to n other edges of the mesh that the edges name (default 0)")
    .option("--agent-id <id>", "stable id of this agent (default: random per process); a restarted agent with the same id replaces its own stale binds")
    .option("--authtoken <token>", "authtoken for the edge (default: the config's)")
    .option("--edge-ca <file>", "PEM CA certificate(s) to verify the edges' TLS certificates with, instead of the system CAs; also turns TLS on for an edge on loopback")
    .option("--insecure-edge", "talk plaintext to every edge, also one not on loopback (only on a network you trust; default: TLS to every edge not on loopback)")
    .option("--upstream-timeout <duration>", "time the upstream has to start answering before a 504 (default 60s; 0 disables)")
    .option("--drain-timeout <duration>", "time in-flight requests get on shutdown (default 30s)")
    .option("--port <n>", "public HTTP port of the embedded edge (default 8080, or the next free port up to 8100; 0: any free port)")
    .option("--status <bool>", "the live status screen when stdout is a terminal: true or false, for plain lines as when piped (default true)")
    .option("--no-status", "same as --status=false");
  addInspectFlags(command);
  addMetricsFlag(command);
  // warn by default: the terminal shows the Forwarding line and problems, not request logs.
  addLogFlags(command, "warn");
  return addHealthCheckFlags(command);
}

/**
 * Merges the flags with the config file the way `onramp edge` does: a flag or its ONRAMP_*
 * variable wins, then the file, then the default. `--config` names a file that must exist; the
 * default path may not exist yet.
 */
export function resolveAgentSettings(flags: AgentFlags, command: Command): AgentSettings {
  const config = loadAgentConfig(flags.config ?? defaultAgentConfigPath(), { required: flags.config !== undefined });
  const given = <K extends keyof AgentFlags>(name: K): AgentFlags[K] | undefined => {
    const source = command.getOptionValueSource(name);
    return source === "cli" || source === "env" ? flags[name] : undefined;
  };
  const duration = (name: "upstreamTimeout" | "drainTimeout", flag: string) => {
    const text = given(name);
    return text === undefined ? undefined : parseDuration(flag, text);
  };
  const flagEdges = edgesFrom(given("edge"));
  const edges = flagEdges ?? config.edges;
  const port = wholeNumber("--port", given("port"), 65535);
  if (port !== undefined && edges.length > 0) {
    const from = flagEdges ? (command.getOptionValueSource("edge") === "env" ? "ONRAMP_EDGE" : "--edge") : `the edges in ${config.path}`;
    throw new OnrampError(ErrorCode.InvalidArgument, `--port sets the embedded edge's port, and with an edge (from ${from}) none runs; leave --port out`);
  }
  return {
    config,
    edges,
    authtoken: given("authtoken") ?? config.authtoken,
    ...edgeTlsSettings(given("edgeCa"), given("insecureEdge"), config),
    agentId: given("agentId") ?? config.agentId,
    extraEdges: wholeNumber("--extra-edges", given("extraEdges"), Number.MAX_SAFE_INTEGER) ?? config.extraEdges,
    upstreamTimeoutMs: duration("upstreamTimeout", "--upstream-timeout") ?? config.upstreamTimeoutMs,
    drainTimeoutMs: duration("drainTimeout", "--drain-timeout") ?? config.drainTimeoutMs ?? 30_000,
    log: { ...config.log, ...definedOnly({ logLevel: given("logLevel"), log: given("log"), logFormat: given("logFormat") }) },
    healthCheck: { ...config.healthCheck, ...definedOnly(healthCheckOptions(flags)) },
    embeddedPort: port,
    metricsAddr: resolveMetricsAddr(flags, command),
    statusScreen: statusSwitch(given("status")),
    inspect: resolveInspectSettings(flags, command, config),
  };
}

/**
 * `--edge-ca` and `--insecure-edge`, or else `edge_ca` and `insecure_edge` of the config: a flag
 * replaces both settings of the file, so `--edge-ca` works with a config that says insecure_edge.
 */
function edgeTlsSettings(caFlag: string | undefined, insecureFlag: boolean | undefined, config: AgentConfig): { edgeCa?: string; insecureEdge: boolean } {
  const fromFlags = caFlag !== undefined || insecureFlag !== undefined;
  const caPath = fromFlags ? caFlag : config.edgeCa;
  const insecure = (fromFlags ? insecureFlag : config.insecureEdge) ?? false;
  const what = fromFlags ? "--edge-ca" : `edge_ca of ${config.path}`;
  if (caPath !== undefined && insecure) {
    throw new OnrampError(ErrorCode.InvalidArgument, `${what} verifies edges over TLS and ${fromFlags ? "--insecure-edge" : "insecure_edge"} turns TLS off; give one of them`);
  }
  if (caPath === undefined) return { insecureEdge: insecure };
  const edgeCa = readTextFile(caPath, what);
  if (!edgeCa.includes("-----BEGIN CERTIFICATE-----")) throw new OnrampError(ErrorCode.InvalidArgument, `${what} ${caPath}: no PEM certificate in it (-----BEGIN CERTIFICATE-----)`);
  return { edgeCa, insecureEdge: false };
}

/** `--status true|false` (also on/off, yes/no, 1/0, as ONRAMP_STATUS may say), or false from `--no-status`. */
function statusSwitch(value: string | boolean | undefined): boolean {
  if (value === undefined || typeof value === "boolean") return value ?? true;
  const text = value.trim().toLowerCase();
  if (["true", "on", "yes", "1"].includes(text)) return true;
  if (["false", "off", "no", "0"].includes(text)) return false;
  throw new OnrampError(ErrorCode.InvalidArgument, `--status: ${JSON.stringify(value)} is not true or false`);
}

/** `--edge a:1 --edge b:2`, `--edge a:1,b:2` or ONRAMP_EDGE=a:1,b:2; undefined when not given. */
function edgesFrom(value: string[] | string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const edges = ([] as string[]).concat(value).flatMap((e) => e.split(",")).map((e) => e.trim()).filter(Boolean);
  for (const edge of edges) {
    const problem = edgeAddressProblem(edge);
    if (problem) throw new OnrampError(ErrorCode.InvalidArgument, `--edge ${JSON.stringify(edge)} ${problem}; use e.g. --edge edge.example.com:4443`);
  }
  return edges.length > 0 ? [...new Set(edges)] : undefined;
}

function wholeNumber(flag: string, text: string | undefined, max: number): number | undefined {
  if (text === undefined) return undefined;
  const n = /^\s*\d+\s*$/.test(text) ? Number(text) : NaN;
  if (!(n <= max)) throw new OnrampError(ErrorCode.InvalidArgument, `${flag}: ${JSON.stringify(text)} is not a whole number${max < Number.MAX_SAFE_INTEGER ? ` from 0 to ${max}` : ""}`);
  return n;
}

/** The fields a group of flags sets, so the ones they leave out keep the config's values. */
function definedOnly<T extends object>(options: T): Partial<T> {
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as Partial<T>;
}
