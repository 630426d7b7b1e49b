import type { HealthCheckOptions } from "@onramp/agent";
import { ErrorCode, OnrampError } from "@onramp/errors";
import type { LogDestination } from "@onramp/telemetry";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node, type Pair } from "yaml";
import { readConfigEndpoints, type ConfigEndpoints } from "./config-endpoints.js";
import { ConfigProblems, formatConfigProblems, type ConfigProblem } from "./config-problems.js";
import { edgeAddressProblem } from "./edge-address.js";
import { parseInspectAddr, parseSwitch, type InspectAddr } from "./inspect-flags.js";
import { parseLogDestination, parseLogFormat, parseLogLevel, type LogFlags } from "./log-flags.js";
import { parseDuration } from "./units.js";

/**
 * The agent's config file (`onramp config path`), checked: what `onramp http` and `onramp start`
 * fall back to when neither a flag nor an ONRAMP_* variable says otherwise. Settings are the long
 * flags in snake_case, as in the edge's config; `endpoints:` are what `onramp start` runs.
 */
export interface AgentConfig {
  /** As given, or the default path; relative `traffic_policy_file`s resolve against its folder. */
  readonly path: string;
  /** False when nothing is at `path` yet: the default path before any `onramp config add-…`. */
  readonly found: boolean;
  readonly authtoken?: string;
  /** `edges:` and the older `edge:` together, without repeats. */
  readonly edges: readonly string[];
  readonly agentId?: string;
  /** `edge_ca`: a PEM file of CA certificates to verify edges with, as a path resolved against the config's folder. */
  readonly edgeCa?: string;
  /** `insecure_edge`: plaintext to every edge (`--insecure-edge`). */
  readonly insecureEdge?: boolean;
  readonly extraEdges?: number;
  readonly upstreamTimeoutMs?: number;
  readonly drainTimeoutMs?: number;
  /** `log_level`, `log` and `log_format`, checked, as the log flags they stand for. */
  readonly log: LogFlags;
  readonly healthCheck: HealthCheckOptions;
  readonly endpoints: ConfigEndpoints;
  /** `inspect`: false turns the request inspector off (`--inspect=false`). */
  readonly inspect?: boolean;
  /** `inspect_addr`: where the request inspector listens (`--inspect-addr`). */
  readonly inspectAddr?: InspectAddr;
}

const AGENT_CONFIG_KEYS = [
  "authtoken", "edges", "edge", "edge_ca", "insecure_edge", "agent_id", "extra_edges", "upstream_timeout", "drain_timeout", "log_level", "log",
  "log_format", "health_check_path", "health_check_interval", "health_check_timeout", "health_check_healthy_threshold",
  "health_check_unhealthy_threshold", "endpoints", "inspect", "inspect_addr",
] as const;

/** Reads and checks the config, returning every problem found (for `onramp config check`). */
export function readAgentConfig(path: string, options: { required: boolean }): { config: AgentConfig; problems: ConfigProblem[] } {
  const empty: AgentConfig = { path, found: false, edges: [], log: {}, healthCheck: {}, endpoints: { named: true, list: [] } };
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === "ENOENT";
    if (missing && !options.required) return { config: empty, problems: [] };
    throw new OnrampError(ErrorCode.InvalidArgument, `cannot read config file ${path}: ${missing ? "no such file" : (err as Error).message}`, { cause: err });
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const problems = new ConfigProblems(lines);
  for (const e of doc.errors) problems.atOffset(e.pos[0], `YAML syntax error: ${e.message.split("\n")[0]}`);
  if (problems.list.length > 0) return { config: { ...empty, found: true }, problems: problems.list };

  const root = doc.contents as Node | null;
  if (root !== null && !(isScalar(root) && root.value === null) && !isMap(root)) {
    problems.at(root, "the top level must be a mapping of settings, e.g. authtoken: …");
    return { config: { ...empty, found: true }, problems: problems.list };
  }
  const settings = new Map<string, Node | null>();
  for (const pair of (isMap(root) ? root.items : []) as Pair<Node, Node | null>[]) {
    const key = isScalar(pair.key) ? String(pair.key.value) : "";
    if ((AGENT_CONFIG_KEYS as readonly string[]).includes(key)) settings.set(key, pair.value);
    else problems.at(pair.key, `unknown setting ${JSON.stringify(key)} (known: ${AGENT_CONFIG_KEYS.join(", ")})`);
  }
  const read = createReaders(settings, problems);
  const config: AgentConfig = {
    path,
    found: true,
    authtoken: read.text("authtoken"),
    edges: [...new Set([...read.edges("edge"), ...read.edges("edges")])],
    agentId: read.text("agent_id"),
    edgeCa: read.checked("edge_ca", (v) => resolve(dirname(path), String(v))),
    insecureEdge: read.checked("insecure_edge", (v) => parseSwitch("insecure_edge", typeof v === "boolean" ? v : String(v))),
    extraEdges: read.wholeNumber("extra_edges"),
    upstreamTimeoutMs: read.duration("upstream_timeout"),
    drainTimeoutMs: read.duration("drain_timeout"),
    log: {
      logLevel: read.checked("log_level", (v) => parseLogLevel("log_level", v)),
      log: read.checked("log", (v) => destinationFlag(parseLogDestination("log", v))),
      logFormat: read.checked("log_format", (v) => parseLogFormat("log_format", v)),
    },
    healthCheck: {
      path: read.text("health_check_path"),
      intervalMs: read.duration("health_check_interval"),
      timeoutMs: read.duration("health_check_timeout"),
      healthyThreshold: read.wholeNumber("health_check_healthy_threshold"),
      unhealthyThreshold: read.wholeNumber("health_check_unhealthy_threshold"),
    },
    endpoints: readConfigEndpoints(settings.get("endpoints"), { path, text }, problems),
    inspect: read.checked("inspect", (v) => parseSwitch("inspect", typeof v === "boolean" ? v : String(v))),
    inspectAddr: read.checked("inspect_addr", (v) => parseInspectAddr("inspect_addr", String(v))),
  };
  return { config, problems: problems.inFileOrder() };
}

/** Reads the config for a command that uses it: any problem is an error listing them all. */
export function loadAgentConfig(path: string, options: { required: boolean }): AgentConfig {
  const { config, problems } = readAgentConfig(path, options);
  if (problems.length > 0) {
    throw new OnrampError(ErrorCode.InvalidArgument, formatConfigProblems(path, problems));
  }
  return config;
}

/** Typed readers of the top-level settings, each recording a problem at the value when it is wrong. */
function createReaders(settings: Map<string, Node | null>, problems: ConfigProblems) {
  const scalar = (key: string): unknown => {
    const node = settings.get(key);
    if (node === undefined || node === null) return undefined;
    if (!isScalar(node)) {
      problems.at(node, `${key}: must be a single value`);
      return undefined;
    }
    return node.value ?? undefined;
  };
  return {
    text(key: string): string | undefined {
      const v = scalar(key);
      if (v === undefined) return undefined;
      if (typeof v !== "string" && typeof v !== "number") {
        problems.at(settings.get(key), `${key}: must be text`);
        return undefined;
      }
      return String(v);
    },
    wholeNumber(key: string): number | undefined {
      const v = scalar(key);
      if (v === undefined) return undefined;
      if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
        problems.at(settings.get(key), `${key}: must be a whole number, got ${JSON.stringify(v)}`);
        return undefined;
      }
      return v;
    },
    duration(key: string): number | undefined {
      const v = scalar(key);
      return v === undefined ? undefined : problems.attempt(settings.get(key), () => parseDuration(key, typeof v === "number" ? v : String(v)));
    },
    /** A single value `check` turns into the setting, or throws an OnrampError naming the key. */
    checked<T>(key: string, check: (value: unknown) => T): T | undefined {
      const v = scalar(key);
      return v === undefined ? undefined : problems.attempt(settings.get(key), () => check(v));
    },
    /** A host:port or a list of them. */
    edges(key: string): string[] {
      const node = settings.get(key);
      if (node === undefined || node === null || (isScalar(node) && node.value === null)) return [];
      const items = isSeq(node) ? (node.items as Node[]) : [node];
      return items.flatMap((item, i) => {
        const where = isSeq(node) ? `${key}[${i}]` : key;
        if (!isScalar(item)) {
          problems.at(item, `${where}: must be host:port, e.g. edge.example.com:4443`);
          return [];
        }
        const value = String(item.value ?? "");
        const problem = edgeAddressProblem(value);
        if (problem) {
          problems.at(item, `${where}: ${JSON.stringify(value)} ${problem}; an edge is host:port, e.g. edge.example.com:4443`);
          return [];
        }
        return [value];
      });
    },
  };
}

/** A checked log destination as `--log` writes it. */
function destinationFlag(destination: LogDestination): string {
  return typeof destination === "object" ? destination.file : destination;
}
