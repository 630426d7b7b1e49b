import { ErrorCode, OnrampError } from "@onramp/errors";
import { isIP } from "node:net";
import type { Bus } from "@onramp/mesh";
import type { MuxOptions } from "@onramp/mux";
import type { IpPolicyDefinition, RateLimitStore, SecretStore } from "@onramp/policy";
import { isValidId, type Registry } from "@onramp/registry";
import { silentLogger, type Logger, type Tracing } from "@onramp/telemetry";
import type { AccessSource } from "./access-control.js";
import type { IpIntelligenceFiles } from "./geoip-database.js";
import { resolveAcmeOptions, type AcmeOptions, type ResolvedAcmeOptions } from "./acme-options.js";
import type { TlsCertificateFiles } from "./tls-certificates.js";

/** Everything an edge can be told. Only `authtokens` (or `allowAnyToken`) is required. */
export interface EdgeOptions {
  /** Public HTTP listener, host:port. Default 0.0.0.0:8080. */
  httpAddr?: string;
  /**
   * Public HTTPS listener, host:port. Default none. Needs `tlsCertificates`; serves exactly what
   * the HTTP listener serves (routing by Host), over TLS with HTTP/2 (see `http2`) and HTTP/1.1.
   */
  httpsAddr?: string;
  /**
   * Offer HTTP/2 on the HTTPS listener (ALPN `h2`, with `http/1.1` for the clients that do not
   * speak it). Default on; off serves HTTP/1.1 only. The agent speaks HTTP/1.1 to the upstream
   * either way. Limits: docs/security.md.
   */
  http2?: boolean;
  /**
   * Certificates of the HTTPS listener, PEM files (the certificate file may carry the chain). Each
   * handshake gets the one whose subjectAltName DNS names match its SNI name (exact, then
   * wildcard); the first is the default. Checked at start (readable, key matches, not expired) and
   * reloaded when the files change.
   */
  tlsCertificates?: TlsCertificateFiles[];
  /**
   * Certificates by ACME for the hostnames the mesh serves, on the HTTPS listener (needs
   * `httpsAddr`; `tlsCertificates` become optional). Default none. See acme-options.ts.
   */
  acme?: AcmeOptions;
  /** The HTTP listener answers every request with 308 to the same URL over HTTPS. Needs `httpsAddr`. Default off. */
  redirectHttpToHttps?: boolean;
  /**
   * `Strict-Transport-Security: max-age=N` on every HTTPS response, in seconds. Default none: once
   * a browser has seen it, it refuses plain HTTP to that host for N seconds, so it is opted into.
   */
  hstsMaxAgeSeconds?: number;
  /** Agent listener (gRPC control + data connections), host:port. Default 0.0.0.0:4443. */
  grpcAddr?: string;
  /** Admin listener (/healthz, /metrics, /api/endpoints), host:port, or "" for none. Default 127.0.0.1:4042 (4040 is the agent inspector's, as in ngrok). */
  adminAddr?: string;
  /**
   * Domain for random URLs, `host[:port]`. Without a port the HTTP listener's port is appended
   * unless it is 80. Default "localhost".
   */
  domain?: string;
  region?: string;
  /**
   * This edge's id in the mesh: letters, digits and `._:@-`. Default: derived from the host name
   * and the listening ports, so a restarted edge comes back under the same id (never random).
   */
  edgeId?: string;
  /** Where other edges reach this edge's agent port (relay), host:port. Default: the agent listener's address. */
  advertiseAddr?: string;
  /**
   * The agent ports of the other worker processes of this edge (`onramp edge --workers`), host:port
   * as agents reach them (the advertised host, which their certificate check needs, not loopback),
   * read for each Welcome: agents hold a session with every one, so a request finds a session on
   * whichever worker the kernel hands it to. Undefined while the workers are still starting: the
   * edge then asks agents to come back (EDGE_DRAINING) rather than welcome them without the list.
   * Default none (a single process).
   */
  siblings?: () => readonly string[] | undefined;
  /** Shared secret that relay connections between edges prove they know. Required when `registry` is shared (a mesh). */
  clusterSecret?: string;
  /**
   * Secret the session cookies of `openid-connect` and `oauth` are encrypted with (a key is derived
   * from it): every edge that must honour the same logins needs the same one. At least 16
   * characters. Default: derived from `clusterSecret` when there is one (so a mesh agrees without
   * more config), else random at start (logins then last as long as the process).
   */
  sessionSecret?: string;
  /**
   * PEM certificates (not a file name) to verify other edges' agent-port certificates with when
   * this edge relays to them over TLS (it does whenever it has `tlsCertificates`). Default: the
   * system CAs. Given, it also authenticates edges relaying here: the agent port asks every
   * client for a certificate, and a relay whose certificate does not chain to these is refused,
   * in addition to the cluster secret (agents need none). See docs/security.md.
   */
  clusterCa?: string;
  /**
   * The client certificate this edge presents when relaying to a peer that asks for one (a peer
   * with `clusterCa`): PEM files signed by the cluster CA, reloaded when they change. Default: the
   * first of `tlsCertificates`, which peers with `clusterCa` already verify as its server certificate.
   */
  clusterCertificate?: TlsCertificateFiles;
  /**
   * The registry of endpoints and edges. Default: an in-memory registry of this edge alone. The
   * edge owns it from here: `close()` closes it (and so revokes the edge's lease).
   */
  registry?: Registry;
  /** The bus to the other edges (gossip). Default: in-process (no other edges). Closed by `close()`. */
  bus?: Bus;
  /** Counting for rate-limit actions. Default: in memory, this edge alone. */
  rateLimits?: RateLimitStore;
  /** What policies' `secrets.get(vault, name)` reads. Default: no secrets (each reads as ""). */
  secrets?: SecretStore;
  /**
   * MaxMind DB files behind `conn.client_ip.geo.*`, `conn.geo.*` and `conn.client_ip.as.*`: a City
   * or Country database and/or an ASN one (GeoLite2, GeoIP2, DB-IP Lite), told apart by their
   * metadata. Default none: a policy reading those variables fails to load.
   */
  geoipDatabases?: string[];
  /**
   * IP categories for `conn.client_ip.categories`: name (dotted, like ngrok's `proxy.anonymous.tor`)
   * → CIDRs, addresses, or paths of files listing them one per line. Default none.
   */
  ipCategories?: Record<string, string[]>;
  /** A file of Tor exit node addresses (the `proxy.anonymous.tor` category, `conn.client_ip.is_tor_node`). */
  torExitNodes?: string;
  /** Named IP policies, for restrict-ips `ip_policies: [name]`. Default none. */
  ipPolicies?: Record<string, IpPolicyDefinition>;
  /** How often this edge tells the mesh it is alive, in ms. Default 1 s. */
  meshHeartbeatMs?: number;
  /** Another edge silent this long is dead and its members leave every pool, in ms. Default 2.5 s (≤ 3 s detection). */
  meshDeadAfterMs?: number;
  /**
   * Registry authtokens and reserved domains, followed with `watchAccess`: a `ControlStore` of the
   * same etcd (a mesh) or of the same `MemoryRegistryStore` as `registry`. Default: none, only
   * `authtokens` admit agents. The edge owns it from here: `close()` closes it.
   */
  access?: AccessSource;
  /**
   * The edge's own (bootstrap) authtokens: they may bind any URL but a reserved domain's. Agents
   * may also present a registry token (`access`), which binds what its ACL allows.
   */
  authtokens?: string[];
  /** Accept any authtoken (embedded, loopback-only edges); one unknown to `access` gets a bootstrap token's rights. */
  allowAnyToken?: boolean;
  /** Largest request body accepted, in bytes. Default 1 GiB. */
  maxRequestBodyBytes?: number;
  /**
   * Largest body a traffic policy may read whole, in bytes: the request body for verify-webhook,
   * jwt-validation from the body and request-body-find-replace (larger: 413
   * POLICY_BODY_TOO_LARGE), the decoded response body for response-body-find-replace (larger:
   * 502). Default 1 MiB.
   */
  maxPolicyBodyBytes?: number;
  /** Largest request line + headers, in bytes. Default 16 KiB (Node's own default). */
  maxHeaderBytes?: number;
  /**
   * Time a client has to send the request line and headers, in ms; later gets 408. Default 60 s,
   * as nginx's client_header_timeout; enforced within a quarter of itself, at most 1 s late.
   */
  headerTimeoutMs?: number;
  /**
   * Longest pause between two pieces of a request body, in ms, counted while the edge is ready to
   * read; then 408 (or a reset, once the response has begun). 0: none. Default 60 s, as nginx's
   * client_body_timeout: a client trickling a byte at a time cannot hold a request open for ever.
   */
  bodyTimeoutMs?: number;
  /**
   * Decode percent-encoded unreserved characters in request paths (`/%61dmin` → `/admin`) before
   * policies and the upstream see them. Default on, as Envoy's `normalize_path`. Dot segments are
   * removed and absolute-form targets rewritten whatever this says (see request-target.ts).
   */
  normalizePath?: boolean;
  /** Merge repeated slashes in request paths (`//admin` → `/admin`). Default on, as Envoy's `merge_slashes`. */
  mergeSlashes?: boolean;
  /**
   * Bodies up to this size ride in the head frame, in bytes. 16 KiB: most API requests and
   * responses then cost one frame each way.
   */
  inlineBodyBytes?: number;
  /** How long an agent has to say Hello or open a data connection, in ms. Default 10 s. */
  handshakeTimeoutMs?: number;
  /** Heartbeat interval announced to agents, in ms. Default 10 s. */
  heartbeatIntervalMs?: number;
  /**
   * Data connections each agent should open. Default 1, like ngrok's and frp's one multiplexed
   * connection per session: each costs ~12 KB of edge memory per idle session, and more only
   * spread TCP head-of-line stalls on lossy links.
   */
  dataConnections?: number;
  /** Time in-flight requests get to finish when the edge shuts down, in ms. Default 10 s. */
  drainTimeoutMs?: number;
  /** Endpoints that exist without an agent; their policy must end in a terminating action. */
  cloudEndpoints?: CloudEndpointConfig[];
  /**
   * Adds `Onramp-Attempts: N` to every proxied response: how many pool members the request was
   * sent to (1 unless it was retried). Default off: it tells clients about the pool.
   */
  attemptsHeader?: boolean;
  /** One `request` line per request at info level (method, host, path, status, duration, bytes, member, trace id, …). Default on. */
  accessLog?: boolean;
  /**
   * This edge is worker `index` of `onramp edge --workers N`, and `group` the id of the first
   * worker (default: this edge's own id, for the first worker itself). Every binding carries the
   * group, so that an agent's sessions with several workers are one pool member.
   */
  worker?: { index: number; group?: string };
  /** The message of the log line that says the edge is serving. Default "edge ready"; a worker of `onramp edge --workers` says "worker ready". */
  readyMessage?: string;
  /** Spans for every request (OpenTelemetry). Default none: tracing is off and costs nothing. */
  tracing?: Tracing;
  mux?: MuxOptions;
  logger?: Logger;
}

export interface CloudEndpointConfig {
  url: string;
  /** Traffic policy as YAML or JSON text. */
  trafficPolicy: string;
  /** Where the policy came from, for error messages (e.g. `edge.yml cloud_endpoints[0]`). */
  source?: string;
}

export interface ResolvedEdgeOptions {
  httpAddr: HostPort;
  httpsAddr: HostPort | undefined;
  http2: boolean;
  tlsCertificates: TlsCertificateFiles[];
  acme: ResolvedAcmeOptions | undefined;
  redirectHttpToHttps: boolean;
  hstsMaxAgeSeconds: number | undefined;
  grpcAddr: HostPort;
  adminAddr: HostPort | undefined;
  domain: string;
  region: string;
  edgeId: string | undefined;
  advertiseAddr: string | undefined;
  siblings: () => readonly string[] | undefined;
  clusterSecret: string | undefined;
  sessionSecret: string | undefined;
  clusterCa: string | undefined;
  clusterCertificate: TlsCertificateFiles | undefined;
  registry: Registry | undefined;
  access: AccessSource | undefined;
  bus: Bus | undefined;
  rateLimits: RateLimitStore | undefined;
  secrets: SecretStore | undefined;
  ipIntelligenceFiles: IpIntelligenceFiles;
  ipPolicies: Record<string, IpPolicyDefinition>;
  meshHeartbeatMs: number;
  meshDeadAfterMs: number;
  authtokens: string[];
  allowAnyToken: boolean;
  maxRequestBodyBytes: number;
  maxPolicyBodyBytes: number;
  maxHeaderBytes: number;
  headerTimeoutMs: number;
  bodyTimeoutMs: number;
  normalizePath: boolean;
  mergeSlashes: boolean;
  inlineBodyBytes: number;
  handshakeTimeoutMs: number;
  heartbeatIntervalMs: number;
  dataConnections: number;
  drainTimeoutMs: number;
  cloudEndpoints: CloudEndpointConfig[];
  attemptsHeader: boolean;
  accessLog: boolean;
  readyMessage: string;
  worker: { index: number; group?: string } | undefined;
  tracing: Tracing | undefined;
  mux: MuxOptions;
  logger: Logger;
}

/** Node timers hold at most 2^31-1 ms (24.8 days); a longer one would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface HostPort {
  host: string;
  port: number;
}

export function resolveEdgeOptions(options: EdgeOptions): ResolvedEdgeOptions {
  const authtokens = (options.authtokens ?? []).map((t) => t.trim()).filter(Boolean);
  const allowAnyToken = options.allowAnyToken ?? false;
  if (authtokens.length === 0 && !allowAnyToken) {
    throw bad("authtokens", "no authtoken configured: pass --authtoken (or ONRAMP_AUTHTOKEN), or --allow-any-token on a private network");
  }
  const domain = (options.domain ?? "localhost").trim().toLowerCase();
  if (!/^[a-z0-9.-]+(:\d{1,5})?$/.test(domain) || domain.startsWith(".")) {
    throw bad("domain", `${JSON.stringify(options.domain)} is not a host[:port]`);
  }
  const httpsAddr = options.httpsAddr === undefined ? undefined : parseHostPort("httpsAddr", options.httpsAddr);
  const tlsCertificates = options.tlsCertificates ?? [];
  const acme = options.acme === undefined ? undefined : resolveAcmeOptions(options.acme);
  if (acme && !httpsAddr) throw bad("acme", "ACME certificates are served by the HTTPS listener: set --https-addr");
  if (httpsAddr && tlsCertificates.length === 0 && !acme) {
    throw bad("tlsCertificates", "the HTTPS listener (httpsAddr) needs at least one certificate and key (--tls-cert and --tls-key), or ACME (--acme-email)");
  }
  if (!httpsAddr && tlsCertificates.length > 0) throw bad("httpsAddr", "certificates are given but no HTTPS listener: set --https-addr");
  tlsCertificates.forEach((c, i) => {
    if (!c.cert?.trim() || !c.key?.trim()) throw bad(`tlsCertificates[${i}]`, "needs both cert and key (file paths)");
  });
  const redirectHttpToHttps = options.redirectHttpToHttps ?? false;
  if (redirectHttpToHttps && !httpsAddr) throw bad("redirectHttpToHttps", "redirecting to HTTPS needs an HTTPS listener: set --https-addr");
  if (options.hstsMaxAgeSeconds !== undefined && !httpsAddr) throw bad("hstsMaxAgeSeconds", "HSTS is sent over HTTPS only: set --https-addr");
  return {
    httpAddr: parseHostPort("httpAddr", options.httpAddr ?? "0.0.0.0:8080"),
    httpsAddr,
    http2: options.http2 ?? true,
    tlsCertificates,
    acme,
    redirectHttpToHttps,
    // RFC 6797 §6.1.1: max-age is a non-negative integer of seconds; 0 tells browsers to forget.
    hstsMaxAgeSeconds: options.hstsMaxAgeSeconds === undefined ? undefined : integer("hstsMaxAgeSeconds", options.hstsMaxAgeSeconds, 0),
    grpcAddr: parseHostPort("grpcAddr", options.grpcAddr ?? "0.0.0.0:4443"),
    adminAddr: options.adminAddr === "" ? undefined : parseHostPort("adminAddr", options.adminAddr ?? "127.0.0.1:4042"),
    domain,
    region: id("region", options.region ?? "local"),
    edgeId: options.edgeId === undefined ? undefined : id("edgeId", options.edgeId),
    advertiseAddr: options.advertiseAddr === undefined ? undefined : hostPortText("advertiseAddr", options.advertiseAddr),
    siblings: siblings(options),
    clusterSecret: clusterSecret(options),
    sessionSecret: sessionSecret(options),
    clusterCa: clusterCa(options, tlsCertificates.length > 0),
    clusterCertificate: clusterCertificate(options, tlsCertificates.length > 0),
    registry: options.registry,
    access: options.access,
    bus: options.bus,
    rateLimits: options.rateLimits,
    secrets: options.secrets,
    ipIntelligenceFiles: {
      geoipDatabases: (options.geoipDatabases ?? []).map((f) => f.trim()).filter(Boolean),
      ipCategories: options.ipCategories ?? {},
      ...(options.torExitNodes?.trim() ? { torExitNodes: options.torExitNodes.trim() } : {}),
    },
    ipPolicies: ipPolicies(options.ipPolicies ?? {}),
    meshHeartbeatMs: integer("meshHeartbeatMs", options.meshHeartbeatMs ?? 1000, 10),
    meshDeadAfterMs: integer("meshDeadAfterMs", options.meshDeadAfterMs ?? 2500, (options.meshHeartbeatMs ?? 1000) + 1),
    authtokens,
    allowAnyToken,
    maxRequestBodyBytes: integer("maxRequestBodyBytes", options.maxRequestBodyBytes ?? 1024 ** 3, 0),
    maxPolicyBodyBytes: integer("maxPolicyBodyBytes", options.maxPolicyBodyBytes ?? 1024 * 1024, 0),
    maxHeaderBytes: integer("maxHeaderBytes", options.maxHeaderBytes ?? 16 * 1024, 1024),
    headerTimeoutMs: integer("headerTimeoutMs", options.headerTimeoutMs ?? 60_000, 100, MAX_TIMER_MS),
    bodyTimeoutMs: integer("bodyTimeoutMs", options.bodyTimeoutMs ?? 60_000, 0, MAX_TIMER_MS),
    normalizePath: options.normalizePath ?? true,
    mergeSlashes: options.mergeSlashes ?? true,
    inlineBodyBytes: integer("inlineBodyBytes", options.inlineBodyBytes ?? 16 * 1024, 0),
    handshakeTimeoutMs: integer("handshakeTimeoutMs", options.handshakeTimeoutMs ?? 10_000, 100),
    heartbeatIntervalMs: integer("heartbeatIntervalMs", options.heartbeatIntervalMs ?? 10_000, 100),
    dataConnections: integer("dataConnections", options.dataConnections ?? 1, 1, 16),
    drainTimeoutMs: integer("drainTimeoutMs", options.drainTimeoutMs ?? 10_000, 0),
    cloudEndpoints: options.cloudEndpoints ?? [],
    attemptsHeader: options.attemptsHeader ?? false,
    accessLog: options.accessLog ?? true,
    readyMessage: options.readyMessage ?? "edge ready",
    worker: options.worker,
    tracing: options.tracing,
    mux: options.mux ?? {},
    logger: options.logger ?? silentLogger(),
  };
}

/** Named IP policies: each a name of letters, digits, `_` and `-`, with allow/deny lists of CIDRs. */
function ipPolicies(policies: Record<string, IpPolicyDefinition>): Record<string, IpPolicyDefinition> {
  for (const [name, policy] of Object.entries(policies)) {
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) throw bad(`ipPolicies.${name}`, "a name is 1-64 letters, digits, _ and -");
    const unknown = Object.keys(policy ?? {}).filter((k) => k !== "allow" && k !== "deny");
    if (policy === null || typeof policy !== "object" || unknown.length > 0) {
      throw bad(`ipPolicies.${name}`, `an IP policy is a map with allow and/or deny lists${unknown.length ? ` (unknown: ${unknown.join(", ")})` : ""}`);
    }
    for (const list of ["allow", "deny"] as const) {
      const entries = policy[list] ?? [];
      if (!Array.isArray(entries)) throw bad(`ipPolicies.${name}.${list}`, "must be a list of CIDRs");
      entries.forEach((cidr, i) => {
        const [addr = "", bits, ...rest] = String(cidr).trim().split("/");
        const family = isIP(addr);
        const max = family === 4 ? 32 : 128;
        if (family === 0 || rest.length > 0 || (bits !== undefined && !(/^\d{1,3}$/.test(bits) && Number(bits) <= max))) {
          throw bad(`ipPolicies.${name}.${list}[${i}]`, `${JSON.stringify(cidr)} is not an IPv4 or IPv6 CIDR`);
        }
      });
    }
  }
  return policies;
}

/** Parses `host:port`, `[v6]:port` or `:port` (all interfaces). */
export function parseHostPort(field: string, value: string): HostPort {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s]*)):(\d{1,5})$/.exec(value.trim());
  const port = match ? Number(match[3]) : NaN;
  if (!match || port > 65535) throw bad(field, `${JSON.stringify(value)} is not host:port`);
  return { host: match[1] ?? (match[2] || "0.0.0.0"), port };
}

function id(field: string, value: string): string {
  if (!isValidId(value)) throw bad(field, `${JSON.stringify(value)} must be 1-128 letters, digits or ._:@-`);
  return value;
}

function hostPortText(field: string, value: string): string {
  const { host, port } = parseHostPort(field, value);
  if (port === 0 || host === "0.0.0.0" || host === "::") throw bad(field, `${JSON.stringify(value)} must name a reachable host and a port, not a wildcard`);
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

function siblings(options: EdgeOptions): () => readonly string[] | undefined {
  const given = options.siblings;
  if (given === undefined) return () => [];
  if (typeof given !== "function") throw bad("siblings", "must be a function returning the other workers' agent addresses");
  return given;
}

function clusterCa(options: EdgeOptions, tls: boolean): string | undefined {
  const ca = options.clusterCa?.trim() ? options.clusterCa : undefined;
  if (ca === undefined) return undefined;
  if (!ca.includes("-----BEGIN CERTIFICATE-----")) throw bad("clusterCa", "must be PEM certificates (-----BEGIN CERTIFICATE-----)");
  if (!tls) throw bad("clusterCa", "relays go over TLS only between edges with a certificate: set --tls-cert and --tls-key too, or leave --cluster-ca out");
  return ca;
}

function clusterCertificate(options: EdgeOptions, tls: boolean): TlsCertificateFiles | undefined {
  const files = options.clusterCertificate;
  if (files === undefined) return undefined;
  if (!files.cert?.trim() || !files.key?.trim()) throw bad("clusterCertificate", "needs both cert and key (file paths: --cluster-cert and --cluster-key)");
  if (!tls) throw bad("clusterCertificate", "relays go over TLS only between edges with a certificate: set --tls-cert and --tls-key too, or leave --cluster-cert out");
  return files;
}

function sessionSecret(options: EdgeOptions): string | undefined {
  const secret = options.sessionSecret?.trim() || undefined;
  if (secret !== undefined && secret.length < 16) throw bad("sessionSecret", "must be at least 16 characters");
  // Prefixed so the cookie key is never the relay's secret itself (HKDF separates them too).
  const cluster = options.clusterSecret?.trim();
  return secret ?? (cluster ? `cluster-secret:${cluster}` : undefined);
}

function clusterSecret(options: EdgeOptions): string | undefined {
  const secret = options.clusterSecret?.trim() || undefined;
  if (options.registry && options.bus && !secret) {
    throw bad("clusterSecret", "an edge in a mesh needs --cluster-secret (the same on every edge): it authenticates the relay between edges");
  }
  if (secret !== undefined && secret.length < 8) throw bad("clusterSecret", "must be at least 8 characters");
  return secret;
}

function integer(field: string, value: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw bad(field, `must be an integer from ${min} to ${max}, got ${value}`);
  }
  return value;
}

function bad(field: string, why: string): OnrampError {
  return new OnrampError(ErrorCode.InvalidArgument, `edge option ${field}: ${why}`);
}
