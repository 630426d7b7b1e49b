import { createAgent, normalizeUpstream } from "@onramp/agent";
import { ErrorCode, OnrampError } from "@onramp/errors";
import { createLogger, type LogLevel } from "@onramp/telemetry";
import type { Command } from "commander";
import { loadConfigFile, policyTextOf } from "../config-file.js";
import { addHealthCheckFlags, createHealthPrinter, healthCheckOptions, type HealthCheckFlags } from "../health-check-flags.js";
import { onShutdown } from "../shutdown.js";
import { parseDuration, parsePoolWeight } from "../units.js";

/** One endpoint in onramp.yml. */
interface EndpointConfig {
  upstream: string;
  url?: string;
  pooling_enabled?: boolean;
  pool_weight?: number;
  traffic_policy?: unknown;
  traffic_policy_file?: string;
}

const TOP_KEYS = ["edge", "authtoken", "agent_id", "extra_edges", "upstream_timeout", "drain_timeout", "log_level", "endpoints"] as const;
const ENDPOINT_KEYS = ["upstream", "url", "pooling_enabled", "pool_weight", "traffic_policy", "traffic_policy_file"];

interface StartFlags extends HealthCheckFlags {
  config: string;
  authtoken?: string;
  logLevel?: LogLevel;
}

export function registerStartCommand(program: Command): void {
  const command = program
    .command("start")
    .description("run several endpoints from one agent, as described in a YAML file")
    .requiredOption("--config <file>", "onramp.yml: edge, authtoken and a list of endpoints")
    .option("--authtoken <token>", "authtoken for the edge (overrides the file)")
    .option("--log-level <level>", "trace, debug, info, warn, error or silent (default warn)");
  addHealthCheckFlags(command)
    .action(async (flags: StartFlags) => {
      const config = loadConfigFile(flags.config, TOP_KEYS);
      const edges = ([] as unknown[]).concat(config.edge ?? []).map(String);
      if (edges.length === 0) throw new OnrampError(ErrorCode.InvalidArgument, `${flags.config}: edge (host:port, or a list) is required`);
      const endpoints = endpointsFrom(config.endpoints, flags.config);
      const drainMs = config.drain_timeout === undefined ? undefined : parseDuration("drain_timeout", String(config.drain_timeout));
      const printHealth = createHealthPrinter();
      const agent = createAgent({
        edge: edges,
        agentId: config.agent_id === undefined ? undefined : String(config.agent_id),
        extraEdges: config.extra_edges === undefined ? undefined : Number(config.extra_edges),
        drainTimeoutMs: drainMs,
        authtoken: flags.authtoken ?? (config.authtoken === undefined ? undefined : String(config.authtoken)),
        upstreamTimeoutMs: config.upstream_timeout === undefined ? undefined : parseDuration("upstream_timeout", String(config.upstream_timeout)),
        healthCheck: healthCheckOptions(flags),
        logger: createLogger({ level: flags.logLevel ?? ((config.log_level as LogLevel | undefined) ?? "warn"), name: "agent" }),
        onStatus: (s) => {
          printHealth(s);
          if (s.kind === "disconnected") process.stderr.write(`onramp: lost ${s.edge} (${s.error.message}); retrying in ${s.retryInMs} ms\n`);
        },
      });
      onShutdown(() => agent.close());
      await agent.start();
      for (const e of endpoints) {
        const bound = await agent.bind(e);
        process.stdout.write(`Forwarding ${bound.url} -> ${bound.upstream}\n`);
      }
      const fatal = await agent.stopped();
      if (fatal) throw fatal;
    });
}

function endpointsFrom(value: unknown, path: string) {
  if (!Array.isArray(value) || value.length === 0) {
    throw new OnrampError(ErrorCode.InvalidArgument, `${path}: endpoints must be a non-empty list of {upstream, url, pooling_enabled, traffic_policy}`);
  }
  return value.map((raw: unknown, i) => {
    const where = `${path} endpoints[${i}]`;
    if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new OnrampError(ErrorCode.InvalidArgument, `${where}: must be a mapping`);
    const e = raw as EndpointConfig;
    for (const key of Object.keys(e)) {
      if (!ENDPOINT_KEYS.includes(key)) throw new OnrampError(ErrorCode.InvalidArgument, `${where}: unknown key ${JSON.stringify(key)} (known: ${ENDPOINT_KEYS.join(", ")})`);
    }
    if (e.upstream === undefined) throw new OnrampError(ErrorCode.InvalidArgument, `${where}.upstream: is required (a port, host:port or URL)`);
    const trafficPolicy = policyTextOf(raw as Record<string, unknown>, path, where)?.text;
    return {
      upstream: normalizeUpstream(String(e.upstream)),
      url: e.url === undefined ? undefined : String(e.url),
      poolingEnabled: e.pooling_enabled === true,
      poolWeight: e.pool_weight === undefined ? undefined : parsePoolWeight(e.pool_weight, `${where}.pool_weight`),
      trafficPolicy,
    };
  });
}

