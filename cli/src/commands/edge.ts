import { createEdge, type CloudEndpointConfig, type EdgeOptions } from "@onramp/edge";
import { ErrorCode, OnrampError } from "@onramp/errors";
import { createLogger, type LogLevel } from "@onramp/telemetry";
import type { Command } from "commander";
import { loadConfigFile, policyTextOf } from "../config-file.js";
import { onShutdown } from "../shutdown.js";
import { parseDuration, parseSize } from "../units.js";

interface EdgeFlags {
  config?: string;
  httpAddr?: string;
  grpcAddr?: string;
  adminAddr?: string;
  domain?: string;
  region?: string;
  authtoken?: string[];
  allowAnyToken?: boolean;
  maxRequestBody?: string;
  maxHeaderSize?: string;
  drainTimeout?: string;
  dataConnections?: string;
  logLevel?: LogLevel;
}

/** Settings a config file may hold: the long flags in snake_case. */
const CONFIG_KEYS = [
  "http_addr", "grpc_addr", "admin_addr", "domain", "region", "authtokens", "allow_any_token",
  "max_request_body", "max_header_size", "drain_timeout", "data_connections", "log_level", "cloud_endpoints",
] as const;

export function registerEdgeCommand(program: Command): void {
  program
    .command("edge")
    .description("run a standalone edge with the embedded (in-memory) backends")
    .option("--config <file>", "YAML config file; flags and ONRAMP_* variables override it")
    .option("--http-addr <host:port>", "public HTTP listener (default 0.0.0.0:8080)")
    .option("--grpc-addr <host:port>", "agent listener, gRPC control and data connections (default 0.0.0.0:4443)")
    .option("--admin-addr <host:port>", "admin listener for /healthz, /metrics, /api/endpoints; '' disables (default 127.0.0.1:4040)")
    .option("--domain <host[:port]>", "domain for random URLs (default localhost)")
    .option("--region <name>", "region name reported to agents (default local)")
    .option("--authtoken <token...>", "authtoken agents must present; repeat or comma-separate for several")
    .option("--allow-any-token", "accept agents with any authtoken (private networks only)")
    .option("--max-request-body <size>", "largest request body accepted, e.g. 100MB (default 1GiB)")
    .option("--max-header-size <size>", "largest request head accepted (default 16KiB)")
    .option("--drain-timeout <duration>", "time in-flight requests get on shutdown (default 10s)")
    .option("--data-connections <n>", "data connections each agent opens (default 1; 2-4 spread TCP stalls on lossy links)")
    .option("--log-level <level>", "trace, debug, info, warn, error or silent (default info)")
    .action(async (flags: EdgeFlags, command: Command) => {
      const options = edgeOptionsFrom(flags, command);
      const logger = createLogger({ level: flags.logLevel ?? "info", name: "edge" });
      const edge = createEdge({ ...options, logger });
      await edge.start();
      onShutdown(async () => {
        logger.info("shutting down: draining sessions and requests");
        await edge.close();
      });
    });
}

/** Merges defaults < config file < ONRAMP_* environment < flags (commander handles the last two). */
function edgeOptionsFrom(flags: EdgeFlags, command: Command): EdgeOptions {
  const config = flags.config ? loadConfigFile(flags.config, CONFIG_KEYS) : {};
  const pick = <T>(name: keyof EdgeFlags, key: string): T | undefined => {
    const source = command.getOptionValueSource(name);
    if (source === "cli" || source === "env") return flags[name] as T;
    return (config[key] as T | undefined) ?? (flags[name] as T | undefined);
  };
  const str = (name: keyof EdgeFlags, key: string): string | undefined => {
    const v = pick<unknown>(name, key);
    if (v === undefined) return undefined;
    if (typeof v !== "string") throw new OnrampError(ErrorCode.InvalidArgument, `${key} must be a string`);
    return v;
  };
  const tokens = pick<string[] | string>("authtoken", "authtokens");
  const list = ([] as string[]).concat(tokens ?? []).flatMap((t) => String(t).split(","));
  const size = (name: keyof EdgeFlags, key: string, flag: string) => {
    const v = pick<string | number>(name, key);
    return v === undefined ? undefined : typeof v === "number" ? v : parseSize(flag, v);
  };
  const drain = pick<string | number>("drainTimeout", "drain_timeout");
  const dataConnections = pick<string | number>("dataConnections", "data_connections");
  const logLevel = str("logLevel", "log_level");
  if (logLevel) flags.logLevel = logLevel as LogLevel;
  return {
    httpAddr: str("httpAddr", "http_addr"),
    grpcAddr: str("grpcAddr", "grpc_addr"),
    adminAddr: str("adminAddr", "admin_addr"),
    domain: str("domain", "domain"),
    region: str("region", "region"),
    authtokens: list,
    allowAnyToken: Boolean(pick<boolean>("allowAnyToken", "allow_any_token")),
    maxRequestBodyBytes: size("maxRequestBody", "max_request_body", "--max-request-body"),
    maxHeaderBytes: size("maxHeaderSize", "max_header_size", "--max-header-size"),
    drainTimeoutMs: drain === undefined ? undefined : typeof drain === "number" ? drain : parseDuration("--drain-timeout", drain),
    dataConnections: dataConnections === undefined ? undefined : Number(dataConnections),
    cloudEndpoints: cloudEndpointsFrom(config.cloud_endpoints, flags.config ?? "config"),
  };
}

/**
 * `cloud_endpoints:` — a list of `{url, traffic_policy}` where the policy is a mapping, a YAML
 * string, or `traffic_policy_file:` (relative to the config file).
 */
function cloudEndpointsFrom(value: unknown, configPath: string): CloudEndpointConfig[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new OnrampError(ErrorCode.InvalidArgument, `${configPath}: cloud_endpoints must be a list of {url, traffic_policy}`);
  return value.map((entry: unknown, i) => {
    const where = `${configPath} cloud_endpoints[${i}]`;
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
      throw new OnrampError(ErrorCode.InvalidArgument, `${where}: must be a mapping with url and traffic_policy`);
    }
    const e = entry as Record<string, unknown>;
    for (const key of Object.keys(e)) {
      if (!["url", "traffic_policy", "traffic_policy_file"].includes(key)) {
        throw new OnrampError(ErrorCode.InvalidArgument, `${where}: unknown key ${JSON.stringify(key)} (known: url, traffic_policy, traffic_policy_file)`);
      }
    }
    if (typeof e.url !== "string") throw new OnrampError(ErrorCode.InvalidArgument, `${where}.url: must be a string`);
    const policy = policyTextOf(e, configPath, where);
    if (!policy) throw new OnrampError(ErrorCode.InvalidArgument, `${where}: needs traffic_policy (a mapping or YAML text) or traffic_policy_file`);
    return { url: e.url, trafficPolicy: policy.text, source: policy.source };
  });
}
