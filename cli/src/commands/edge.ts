import type { CloudEndpointConfig, EdgeOptions } from "@onramp/edge";
import { ErrorCode, OnrampError } from "@onramp/errors";
import { createSecretStore, type SecretStore } from "@onramp/policy";
import type { Command } from "commander";
import { isIP } from "node:net";
import { availableParallelism } from "node:os";
import { dirname, resolve } from "node:path";
import { loadConfigFile, policyTextOf, readTextFile } from "../config-file.js";
import { collect, edgeAcmeOptionsFrom, edgeTlsOptionsFrom } from "../edge-tls-flags.js";
import { addLogFlags, logFlagsFromConfig, loggerFrom, type LogFlags } from "../log-flags.js";
import { runEdgePrimary } from "../edge-primary.js";
import { runEdgeAlone, runEdgeWorker, type MeshUrls } from "../edge-run.js";
import { workerIndex } from "../edge-worker.js";
import { addRegistryApiFlags, DEFAULT_API_ADDR, type RegistryApiFlags } from "../registry-api-flags.js";
import { parseDuration, parseSize } from "../units.js";

interface EdgeFlags extends LogFlags, RegistryApiFlags {
  config?: string;
  httpAddr?: string;
  httpsAddr?: string;
  http2?: boolean;
  tlsCert?: string[];
  tlsKey?: string[];
  redirectHttpToHttps?: boolean;
  hsts?: string;
  acmeEmail?: string;
  acmeDirectory?: string;
  acmeCa?: string;
  acmeChallenge?: string;
  grpcAddr?: string;
  adminAddr?: string;
  domain?: string;
  region?: string;
  edgeId?: string;
  advertiseAddr?: string;
  etcd?: string[];
  nats?: string[];
  clusterSecret?: string;
  sessionSecret?: string;
  clusterCa?: string;
  clusterCert?: string;
  clusterKey?: string;
  meshHeartbeat?: string;
  meshDeadAfter?: string;
  authtoken?: string[];
  allowAnyToken?: boolean;
  maxRequestBody?: string;
  maxPolicyBody?: string;
  maxHeaderSize?: string;
  headerTimeout?: string;
  bodyTimeout?: string;
  normalizePath?: boolean;
  mergeSlashes?: boolean;
  drainTimeout?: string;
  dataConnections?: string;
  attemptsHeader?: boolean;
  accessLog?: boolean;
  geoipDb?: string[];
  torExitNodes?: string;
  workers?: string;
}

/** More workers than this is a typo, not a machine. */
const MAX_WORKERS = 256;

/** Settings a config file may hold: the long flags in snake_case. */
const CONFIG_KEYS = [
  "http_addr", "https_addr", "http2", "tls_certificates", "acme_email", "acme_directory", "acme_ca", "acme_challenge", "redirect_http_to_https", "hsts", "grpc_addr", "admin_addr", "domain", "region", "authtokens", "allow_any_token",
  "max_request_body", "max_policy_body", "max_header_size", "drain_timeout", "data_connections", "log_level", "log", "log_format", "cloud_endpoints", "secrets",
  "edge_id", "advertise_addr", "etcd", "nats", "cluster_secret", "session_secret", "cluster_ca", "cluster_cert", "cluster_key", "mesh_heartbeat", "mesh_dead_after",
  "attempts_header", "access_log", "header_timeout", "body_timeout", "normalize_path", "merge_slashes",
  "geoip_db", "tor_exit_nodes", "ip_categories", "ip_policies", "workers",
] as const;

export function registerEdgeCommand(program: Command): void {
  const command = program
    .command("edge")
    .description("run an edge: alone with the embedded backends, or in a mesh with --etcd, --nats and --cluster-secret")
    .option("--config <file>", "YAML config file; flags and ONRAMP_* variables override it")
    .option("--http-addr <host:port>", "public HTTP listener (default 0.0.0.0:8080)")
    .option("--https-addr <host:port>", "public HTTPS listener (default none; needs --tls-cert and --tls-key, or --acme-email)")
    .option("--no-http2", "serve HTTP/1.1 only on the HTTPS listener (default: HTTP/2 too, by ALPN h2, for clients that offer it)")
    .option("--tls-cert <file>", "PEM certificate (chain) for the HTTPS listener; repeat with --tls-key for several, chosen by SNI; the first is the default", collect)
    .option("--tls-key <file>", "PEM private key of the --tls-cert in the same position", collect)
    .option("--acme-email <email>", "get certificates by ACME for the hostnames the mesh serves (bound, cloud, reserved), with this account contact (needs --https-addr)")
    .option("--acme-directory <url>", "ACME directory URL (default Let's Encrypt: https://acme-v02.api.letsencrypt.org/directory); turns ACME on")
    .option("--acme-ca <file>", "PEM CA certificate(s) to trust for the ACME directory's HTTPS, e.g. a test CA (default: the system CAs)")
    .option("--acme-challenge <type>", "http-01 (port 80, the HTTP listener) or tls-alpn-01 (port 443, the HTTPS listener) (default http-01)")
    .option("--redirect-http-to-https", "answer every request on the HTTP listener with 308 to the same URL over HTTPS (needs --https-addr)")
    .option("--hsts <duration>", "send Strict-Transport-Security with this max-age over HTTPS, e.g. 180d (default: not sent)")
    .option("--grpc-addr <host:port>", "agent listener, gRPC control and data connections (default 0.0.0.0:4443)")
    .option("--admin-addr <host:port>", "admin listener for /healthz, /metrics, /api/endpoints; '' disables (default 127.0.0.1:4042)")
    .option("--domain <host[:port]>", "domain for random URLs (default localhost)")
    .option("--region <name>", "region of this edge; pools prefer members in the receiving edge's region (default local)")
    .option("--edge-id <id>", "this edge's id in the mesh (default: derived from the host name and ports, stable across restarts)")
    .option("--etcd <url...>", "etcd endpoints (comma-separated or repeated): join a mesh; needs --nats too")
    .option("--nats <url...>", "NATS servers (comma-separated or repeated): join a mesh; needs --etcd too")
    .option("--cluster-secret <secret>", "secret shared by every edge of the mesh; authenticates the edge-to-edge relay")
    .option("--session-secret <secret>", "key material for the login cookies of openid-connect/oauth policies, the same on every edge (default: derived from --cluster-secret, else random per start)")
    .option("--cluster-ca <file>", "PEM CA certificate(s) to verify other edges' agent ports with when relaying over TLS, which an edge with --tls-cert does (default: the system CAs); also makes relays to this edge present a client certificate from it")
    .option("--cluster-cert <file>", "PEM client certificate, signed by the peers' --cluster-ca, this edge presents when relaying (default: its first --tls-cert)")
    .option("--cluster-key <file>", "PEM private key of --cluster-cert")
    .option("--advertise-addr <host:port>", "where agents and other edges reach this edge's agent port; with ACME its host (a DNS name) gets the agent port's certificate (default: --grpc-addr)")
    .option("--mesh-heartbeat <duration>", "how often this edge tells the mesh it is alive (default 1s)")
    .option("--mesh-dead-after <duration>", "a silent edge is dead after this long and its members leave every pool (default 2.5s)")
    .option("--authtoken <token...>", "authtoken agents must present; repeat or comma-separate for several")
    .option("--allow-any-token", "accept agents with any authtoken (private networks only)")
    .option("--max-request-body <size>", "largest request body accepted, e.g. 100MB (default 1GiB)")
    .option("--max-policy-body <size>", "largest body a traffic policy reads whole (verify-webhook, body find-replace, jwt-validation from the body) (default 1MiB)")
    .option("--max-header-size <size>", "largest request head accepted (default 16KiB)")
    .option("--header-timeout <duration>", "time a client has to send the request line and headers; later gets 408 (default 60s)")
    .option("--body-timeout <duration>", "longest pause between two pieces of a request body; longer gets 408; 0 for none (default 60s)")
    .option("--no-normalize-path", "do not decode percent-encoded unreserved characters in request paths (/%61dmin stays); dot segments are removed regardless")
    .option("--no-merge-slashes", "keep repeated slashes in request paths (//admin stays //admin)")
    .option("--drain-timeout <duration>", "time in-flight requests get on shutdown (default 10s)")
    .option("--data-connections <n>", "data connections each agent opens (default 1; 2-4 spread TCP stalls on lossy links)")
    .option("--attempts-header", "add Onramp-Attempts (how many pool members a request was sent to) to every proxied response")
    .option("--no-access-log", "do not log one line per request (logged at info level by default)")
    .option("--geoip-db <file...>", "MaxMind DB (.mmdb) for policies' conn.client_ip.geo/.as: a City or Country and/or an ASN database (GeoLite2, DB-IP Lite); repeat or comma-separate")
    .option("--workers <n>", "edge processes sharing the public ports, each with its own agent port (--grpc-addr port + i) and a member of the mesh; agents hold a session with each (default: the cores available)")
    .option("--tor-exit-nodes <file>", "file of Tor exit node addresses, one per line, for policies' conn.client_ip.is_tor_node (category proxy.anonymous.tor)");
  addRegistryApiFlags(command, `serve the registry API here; '' disables (default ${DEFAULT_API_ADDR} when alone, off in a mesh: run onramp registry)`);
  addLogFlags(command, "info")
    .action(async (flags: EdgeFlags, command: Command) => {
      const options = edgeOptionsFrom(flags, command);
      const logger = loggerFrom(logFlagsOf(flags, command), "edge", "info");
      const meshUrls = meshUrlsFrom(flags, command, options);
      const index = workerIndex();
      if (index === undefined) {
        const count = workerCountFrom(flags, command, options, meshUrls !== undefined);
        if (count > 1) return runEdgePrimary({ count, options, mesh: meshUrls, apiFlags: flags, logger });
        return runEdgeAlone(options, meshUrls, flags, logger);
      }
      return runEdgeWorker(options, index, meshUrls, logger);
    });
}

/**
 * `--workers`/`workers`: how many edge processes share the public ports; default the cores
 * available. ACME without a mesh keeps certificates in one process's memory, so it runs one.
 */
function workerCountFrom(flags: EdgeFlags, command: Command, options: EdgeOptions, inMesh: boolean): number {
  const config = flags.config ? loadConfigFile(flags.config, CONFIG_KEYS) : {};
  const source = command.getOptionValueSource("workers");
  const fromFlag = source === "cli" || source === "env";
  const value = fromFlag ? flags.workers : config.workers;
  const where = fromFlag ? "--workers" : "workers";
  if (value === undefined) return options.acme && !inMesh ? 1 : availableParallelism();
  const count = typeof value === "number" ? value : /^\d+$/.test(String(value).trim()) ? Number(value) : NaN;
  if (!Number.isInteger(count) || count < 1 || count > MAX_WORKERS) {
    throw new OnrampError(ErrorCode.InvalidArgument, `${where} must be a whole number from 1 to ${MAX_WORKERS}, got ${JSON.stringify(value)}`);
  }
  if (count > 1 && options.acme && !inMesh) {
    throw new OnrampError(ErrorCode.InvalidArgument, `${where} ${count}: ACME without a mesh keeps certificates in one process; use --workers 1, or --etcd and --nats so every worker shares them`);
  }
  return count;
}

/** The mesh's etcd and NATS when --etcd and --nats are given (both or neither); undefined for neither. */
function meshUrlsFrom(flags: EdgeFlags, command: Command, options: EdgeOptions): MeshUrls | undefined {
  const config = flags.config ? loadConfigFile(flags.config, CONFIG_KEYS) : {};
  const list = (name: "etcd" | "nats"): string[] => {
    const source = command.getOptionValueSource(name);
    const v = source === "cli" || source === "env" ? flags[name] : (config[name] as string[] | string | undefined) ?? flags[name];
    return ([] as string[]).concat(v ?? []).flatMap((x) => String(x).split(",")).map((x) => x.trim()).filter(Boolean);
  };
  const etcd = list("etcd");
  const nats = list("nats");
  if (etcd.length === 0 && nats.length === 0) return undefined;
  if (etcd.length === 0 || nats.length === 0) {
    throw new OnrampError(ErrorCode.InvalidArgument, `a mesh edge needs both --etcd and --nats (got ${etcd.length ? "--etcd" : "--nats"} only)`);
  }
  if (!options.clusterSecret) {
    throw new OnrampError(ErrorCode.InvalidArgument, "a mesh edge needs --cluster-secret (the same on every edge): it authenticates the relay between edges");
  }
  return { etcd, nats };
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
  // A YAML number is refused like a bare number on the command line, naming the key.
  const duration = (name: keyof EdgeFlags, key: string, flag: string) => {
    const source = command.getOptionValueSource(name);
    const v = pick<string | number>(name, key);
    return v === undefined ? undefined : parseDuration(source === "cli" || source === "env" ? flag : key, v);
  };
  const dataConnections = pick<string | number>("dataConnections", "data_connections");
  // A `--no-x` switch: on unless turned off; in YAML only true or false, so `normalize_path: no`
  // (a string in YAML 1.2) is refused instead of silently leaving it on.
  const switchOn = (name: keyof EdgeFlags, key: string): boolean => {
    const v = pick<unknown>(name, key);
    if (typeof v !== "boolean") throw new OnrampError(ErrorCode.InvalidArgument, `${key} must be true or false, got ${JSON.stringify(v)}`);
    return v;
  };
  const tlsFlag = (name: "tlsCert" | "tlsKey") => {
    const source = command.getOptionValueSource(name);
    return source === "cli" || source === "env" ? flags[name] : undefined;
  };
  const hsts = pick<string | number>("hsts", "hsts");
  const hstsFromFlag = ["cli", "env"].includes(command.getOptionValueSource("hsts") ?? "");
  const tls = edgeTlsOptionsFrom({
    certFlags: tlsFlag("tlsCert"),
    keyFlags: tlsFlag("tlsKey"),
    configCertificates: config.tls_certificates,
    configPath: flags.config,
    hsts: hsts === undefined ? undefined : { value: hsts, from: hstsFromFlag ? "--hsts" : "hsts" },
  });
  const clusterCa = str("clusterCa", "cluster_ca");
  const clusterCaFromFlag = ["cli", "env"].includes(command.getOptionValueSource("clusterCa") ?? "");
  const clusterFile = (name: "clusterCert" | "clusterKey", key: string) => {
    const v = str(name, key);
    if (v === undefined || ["cli", "env"].includes(command.getOptionValueSource(name) ?? "")) return v;
    return resolve(dirname(flags.config ?? "."), v);
  };
  const clusterCert = clusterFile("clusterCert", "cluster_cert");
  const clusterKey = clusterFile("clusterKey", "cluster_key");
  if ((clusterCert === undefined) !== (clusterKey === undefined)) {
    throw new OnrampError(ErrorCode.InvalidArgument, "--cluster-cert and --cluster-key (cluster_cert, cluster_key) come together");
  }
  return {
    httpAddr: str("httpAddr", "http_addr"),
    httpsAddr: str("httpsAddr", "https_addr"),
    http2: switchOn("http2", "http2"),
    ...tls,
    acme: edgeAcmeOptionsFrom(
      { email: str("acmeEmail", "acme_email"), directory: str("acmeDirectory", "acme_directory"), caFile: str("acmeCa", "acme_ca"), challenge: str("acmeChallenge", "acme_challenge") },
      // A path in the config file is relative to it.
      (path, label) => (["cli", "env"].includes(command.getOptionValueSource("acmeCa") ?? "") ? readTextFile(path, label) : readTextFile(resolve(dirname(flags.config ?? "."), path), `${flags.config ?? "config"}: acme_ca`)),
    ),
    redirectHttpToHttps: Boolean(pick<boolean>("redirectHttpToHttps", "redirect_http_to_https")),
    grpcAddr: str("grpcAddr", "grpc_addr"),
    adminAddr: str("adminAddr", "admin_addr"),
    domain: str("domain", "domain"),
    region: str("region", "region"),
    edgeId: str("edgeId", "edge_id"),
    advertiseAddr: str("advertiseAddr", "advertise_addr"),
    clusterSecret: str("clusterSecret", "cluster_secret"),
    sessionSecret: str("sessionSecret", "session_secret"),
    // A path in the config file is relative to it, as in tls_certificates.
    clusterCa:
      clusterCa === undefined
        ? undefined
        : clusterCaFromFlag
          ? readTextFile(clusterCa, "--cluster-ca")
          : readTextFile(resolve(dirname(flags.config ?? "."), clusterCa), `${flags.config ?? "config"}: cluster_ca`),
    clusterCertificate: clusterCert === undefined ? undefined : { cert: clusterCert, key: clusterKey! },
    meshHeartbeatMs: duration("meshHeartbeat", "mesh_heartbeat", "--mesh-heartbeat"),
    meshDeadAfterMs: duration("meshDeadAfter", "mesh_dead_after", "--mesh-dead-after"),
    authtokens: list,
    allowAnyToken: Boolean(pick<boolean>("allowAnyToken", "allow_any_token")),
    maxRequestBodyBytes: size("maxRequestBody", "max_request_body", "--max-request-body"),
    maxPolicyBodyBytes: size("maxPolicyBody", "max_policy_body", "--max-policy-body"),
    maxHeaderBytes: size("maxHeaderSize", "max_header_size", "--max-header-size"),
    headerTimeoutMs: duration("headerTimeout", "header_timeout", "--header-timeout"),
    bodyTimeoutMs: duration("bodyTimeout", "body_timeout", "--body-timeout"),
    normalizePath: switchOn("normalizePath", "normalize_path"),
    mergeSlashes: switchOn("mergeSlashes", "merge_slashes"),
    drainTimeoutMs: duration("drainTimeout", "drain_timeout", "--drain-timeout"),
    dataConnections: dataConnections === undefined ? undefined : Number(dataConnections),
    attemptsHeader: Boolean(pick<boolean>("attemptsHeader", "attempts_header")),
    accessLog: pick<boolean>("accessLog", "access_log") !== false,
    cloudEndpoints: cloudEndpointsFrom(config.cloud_endpoints, flags.config ?? "config"),
    secrets: secretsFrom(config.secrets, flags.config ?? "config"),
    ...ipIntelligenceFrom(flags, command, config),
  };
}

/**
 * `--geoip-db`/`geoip_db`, `--tor-exit-nodes`/`tor_exit_nodes`, and the config-only
 * `ip_categories: {name: [cidr or file]}` and `ip_policies: {name: {allow, deny}}`. Paths in the
 * config file are relative to it; the edge checks the rest when it starts.
 */
function ipIntelligenceFrom(flags: EdgeFlags, command: Command, config: Record<string, unknown>): Partial<EdgeOptions> {
  const configPath = flags.config ?? "config";
  const isMap = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  const fromFlag = (name: keyof EdgeFlags) => ["cli", "env"].includes(command.getOptionValueSource(name) ?? "");
  const inConfig = (path: string) => resolve(dirname(flags.config ?? "."), path);
  const strings = (value: unknown, key: string): string[] => {
    const items = ([] as unknown[]).concat(value ?? []);
    if (items.some((v) => typeof v !== "string")) throw new OnrampError(ErrorCode.InvalidArgument, `${configPath}: ${key} must be a string or a list of strings`);
    return (items as string[]).flatMap((v) => v.split(",")).map((v) => v.trim()).filter(Boolean);
  };
  const geoip = fromFlag("geoipDb") ? strings(flags.geoipDb, "--geoip-db") : strings(config.geoip_db, "geoip_db").map(inConfig);
  const tor = fromFlag("torExitNodes") ? flags.torExitNodes : config.tor_exit_nodes === undefined ? undefined : strings(config.tor_exit_nodes, "tor_exit_nodes").map(inConfig)[0];
  const categories: Record<string, string[]> = {};
  if (config.ip_categories !== undefined) {
    if (!isMap(config.ip_categories)) throw new OnrampError(ErrorCode.InvalidArgument, `${configPath}: ip_categories must be a map of category name to a list of CIDRs or files`);
    for (const [name, entries] of Object.entries(config.ip_categories)) {
      // A CIDR or address stays as it is; anything else is a file, relative to the config file.
      categories[name] = strings(entries, `ip_categories.${name}`).map((e) => (isIP(e.split("/")[0] ?? "") ? e : inConfig(e)));
    }
  }
  const policies = config.ip_policies;
  if (policies !== undefined && !isMap(policies)) throw new OnrampError(ErrorCode.InvalidArgument, `${configPath}: ip_policies must be a map of name to {allow: [...], deny: [...]}`);
  return {
    ...(geoip.length > 0 && { geoipDatabases: geoip }),
    ...(tor !== undefined && { torExitNodes: tor }),
    ...(Object.keys(categories).length > 0 && { ipCategories: categories }),
    ...(policies !== undefined && { ipPolicies: policies as EdgeOptions["ipPolicies"] & object }),
  };
}

/**
 * `secrets:` — `{vault: {name: value}}` for policies' `secrets.get(vault, name)`, over the
 * `ONRAMP_SECRET_<VAULT>__<NAME>` environment variables. Errors name the key, never a value.
 */
function secretsFrom(value: unknown, configPath: string): SecretStore {
  const vaults: Record<string, Record<string, string>> = {};
  if (value !== undefined && value !== null) {
    const isMap = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
    if (!isMap(value)) throw new OnrampError(ErrorCode.InvalidArgument, `${configPath}: secrets must be a map of vault name to {secret name: value}`);
    for (const [vault, secrets] of Object.entries(value)) {
      if (!isMap(secrets)) throw new OnrampError(ErrorCode.InvalidArgument, `${configPath}: secrets.${vault} must be a map of secret name to value`);
      vaults[vault] = {};
      for (const [name, v] of Object.entries(secrets)) {
        if (typeof v !== "string") throw new OnrampError(ErrorCode.InvalidArgument, `${configPath}: secrets.${vault}.${name} must be a string`);
        vaults[vault][name] = v;
      }
    }
  }
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith("ONRAMP_SECRET_")));
  return createSecretStore({ vaults, env });
}

/** The log settings: flags and ONRAMP_* variables over the config file's log_level, log and log_format. */
function logFlagsOf(flags: EdgeFlags, command: Command): LogFlags {
  const merged = logFlagsFromConfig(flags.config ? loadConfigFile(flags.config, CONFIG_KEYS) : {});
  for (const name of ["logLevel", "log", "logFormat"] as const) {
    const source = command.getOptionValueSource(name);
    if (source === "cli" || source === "env") merged[name] = flags[name];
  }
  return merged;
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
