import { Server as GrpcServer, ServerCredentials } from "@grpc/grpc-js";
import { ErrorCode, OnrampError } from "@onramp/errors";
import { decodeDataHello, MuxConnection, resolveMuxOptions } from "@onramp/mux";
import { AgentService, grpcServiceDefinition, type Bind } from "@onramp/proto";
import { createPolicyRuntime, formatPolicyErrors, loadPolicy, type Policy, type PolicyRuntime } from "@onramp/policy";
import { createEdgeMetrics, type EdgeMetrics } from "@onramp/telemetry";
import { randomBytes, timingSafeEqual } from "node:crypto";
import type { Server as HttpServer } from "node:http";
import type { AddressInfo, Server as NetServer, Socket } from "node:net";
import { createAdminServer } from "./admin-server.js";
import { createAgentListener } from "./agent-listener.js";
import type { AgentSession } from "./agent-session.js";
import { createAuthtokenCheck } from "./authtokens.js";
import { createConnectHandler } from "./control-service.js";
import { parseEndpointUrl, type EndpointUrl } from "./endpoint-url.js";
import { HttpProxy } from "./http-proxy.js";
import { createHttpIngress } from "./http-ingress.js";
import { PolicyFlow } from "./policy-flow.js";
import { resolveEdgeOptions, type EdgeOptions, type HostPort, type ResolvedEdgeOptions } from "./options.js";
import { RoutingTable } from "./routing-table.js";

/** Where a started edge listens, as host:port strings. */
export interface EdgeAddresses {
  http: string;
  agent: string;
  admin: string | undefined;
}

/** gRPC keepalive: ping idle agents every 10 s, give up after 5 s; let agents ping every 5 s. */
const GRPC_SERVER_OPTIONS = {
  "grpc.keepalive_time_ms": 10_000,
  "grpc.keepalive_timeout_ms": 5_000,
  "grpc.keepalive_permit_without_calls": 1,
  "grpc.http2.min_ping_interval_without_data_ms": 5_000,
};

/**
 * An edge: public HTTP ingress, the agent port (gRPC control + data connections), and the admin
 * port, over an in-memory routing table.
 */
export class Edge {
  readonly options: ResolvedEdgeOptions;
  readonly metrics: EdgeMetrics = createEdgeMetrics();
  readonly table: RoutingTable<AgentSession>;
  /** Shared by every policy on this edge: clock, JWKS fetching, rate-limit counters. */
  readonly policyRuntime: PolicyRuntime = createPolicyRuntime();
  private readonly sessions = new Map<string, AgentSession>();
  private readonly grpc = new GrpcServer(GRPC_SERVER_OPTIONS);
  private readonly http: HttpServer;
  private readonly agentListener: NetServer;
  private readonly admin: HttpServer | undefined;
  private addressesValue: EdgeAddresses | undefined;
  private draining = false;

  constructor(options: EdgeOptions) {
    this.options = resolveEdgeOptions(options);
    const { logger } = this.options;
    this.table = new RoutingTable<AgentSession>(this.options.region);
    const proxy = new HttpProxy(this.table, this.options, this.metrics);
    proxy.policies = new PolicyFlow(proxy, this.table, this.policyRuntime, this.options.region, logger);
    this.options.cloudEndpoints.forEach((c, i) => this.addCloudEndpoint(c, i));
    this.http = createHttpIngress(proxy, this.table, this.options, logger);

    const checkAuthtoken = createAuthtokenCheck(this.options.authtokens, this.options.allowAnyToken);
    this.grpc.addService(grpcServiceDefinition(AgentService), {
      connect: createConnectHandler({
        checkAuthtoken,
        bind: (session, bind) => this.bind(session, bind),
        unbind: (session, bindId) => this.unbind(session, bindId),
        addSession: (session) => {
          this.sessions.set(session.id, session);
          this.metrics.sessions.set(this.sessions.size);
        },
        removeSession: (session) => this.removeSession(session),
        welcome: {
          edgeId: this.options.edgeId,
          region: this.options.region,
          heartbeatIntervalMs: this.options.heartbeatIntervalMs,
          dataConnections: this.options.dataConnections,
          initialStreamWindow: resolveMuxOptions(this.options.mux).initialStreamWindow,
        },
        handshakeTimeoutMs: this.options.handshakeTimeoutMs,
        logger,
      }),
    });
    const injector = this.grpc.createConnectionInjector(ServerCredentials.createInsecure());
    this.agentListener = createAgentListener(
      { grpc: (socket) => injector.injectConnection(socket), data: (socket) => this.acceptDataConnection(socket) },
      this.options.handshakeTimeoutMs,
      logger,
    );
    this.admin = this.options.adminAddr
      ? createAdminServer(this.table, this.metrics, () => ({ sessions: this.sessions.size, draining: this.draining }))
      : undefined;
  }

  get addresses(): EdgeAddresses {
    if (!this.addressesValue) throw new OnrampError(ErrorCode.Internal, "the edge is not started");
    return this.addressesValue;
  }

  async start(): Promise<EdgeAddresses> {
    const o = this.options;
    const http = await listen(this.http, o.httpAddr, "http");
    const agent = await listen(this.agentListener, o.grpcAddr, "agent (gRPC)");
    const admin = this.admin && o.adminAddr ? await listen(this.admin, o.adminAddr, "admin") : undefined;
    this.addressesValue = { http, agent, admin };
    o.logger.info({ http, agent, admin, region: o.region, edge: o.edgeId, domain: o.domain }, "edge ready");
    return this.addressesValue;
  }

  /**
   * Stops taking new requests and sessions, asks agents to drain, gives in-flight requests up to
   * `drainTimeoutMs`, then closes everything.
   */
  async close(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    const timeout = this.options.drainTimeoutMs;
    this.agentListener.close();
    const httpClosed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeIdleConnections();
    await Promise.all([...this.sessions.values()].map((s) => s.drain("edge shutting down", timeout)));
    const force = setTimeout(() => this.http.closeAllConnections(), timeout);
    await httpClosed;
    clearTimeout(force);
    this.grpc.forceShutdown();
    await new Promise<void>((resolve) => (this.admin ? this.admin.close(() => resolve()) : resolve()));
    this.options.logger.info("edge stopped");
  }

  /** A fresh random URL under the edge's domain. */
  private randomUrl(): EndpointUrl {
    const [host, explicitPort] = this.options.domain.split(":");
    const port = explicitPort ?? String(this.addresses.http.split(":").pop());
    const suffix = port === "80" ? "" : `:${port}`;
    for (;;) {
      const name = randomBytes(8).toString("base64url").toLowerCase().replace(/[^a-z0-9]/g, "").slice(0, 10);
      if (name.length < 8) continue;
      const url = parseEndpointUrl(`http://${name}.${host}${suffix}`);
      if (!this.table.lookup(url.host, true)) return url;
    }
  }

  private addCloudEndpoint(config: { url: string; trafficPolicy: string; source?: string }, index: number): void {
    const where = config.source ?? `cloud_endpoints[${index}]`;
    let url: EndpointUrl;
    try {
      url = parseEndpointUrl(config.url);
    } catch (err) {
      throw new OnrampError(ErrorCode.InvalidArgument, `${where}: ${(err as Error).message}`);
    }
    const policy = this.loadPolicy(config.trafficPolicy, "cloud", `${where}.traffic_policy`, ErrorCode.InvalidArgument);
    this.table.addCloudEndpoint(url, policy);
    this.options.logger.info({ url: url.url }, "cloud endpoint defined");
  }

  /** Loads and validates a policy, or throws with every problem listed with its position. */
  private loadPolicy(text: string, kind: "agent" | "cloud", filename: string, code: ErrorCode): Policy {
    const loaded = loadPolicy(text, { kind, filename, regionName: this.options.region });
    if (!loaded.ok) {
      throw new OnrampError(code, `the traffic policy is invalid:\n${formatPolicyErrors(loaded.errors)}`);
    }
    return loaded.policy;
  }

  private bind(session: AgentSession, bind: Bind): { endpointId: string; url: string } {
    if (this.draining) throw new OnrampError(ErrorCode.EdgeDraining, "the edge is shutting down; connect to another edge");
    if (session.binds.has(bind.bindId)) {
      throw new OnrampError(ErrorCode.InvalidArgument, `bind id ${bind.bindId} is already used in this session`);
    }
    const url = bind.url ? parseEndpointUrl(bind.url) : this.randomUrl();
    const policy = bind.trafficPolicy.trim() ? this.loadPolicy(bind.trafficPolicy, "agent", "traffic policy", ErrorCode.PolicyInvalid) : undefined;
    const member = {
      policy,
      id: `${session.id}/${bind.bindId}`,
      bindId: bind.bindId,
      region: this.options.region,
      session,
      upstream: bind.upstream?.url ?? "",
    };
    try {
      const endpoint = this.table.bind(url, bind.poolingEnabled, member);
      session.binds.set(bind.bindId, { host: url.host, memberId: member.id });
      this.metrics.binds.inc({ result: "ok" });
      this.metrics.endpoints.set(this.table.size);
      this.options.logger.info({ session: session.id, url: url.url, pooling: bind.poolingEnabled, members: endpoint.pool.size }, "endpoint bound");
      return { endpointId: endpoint.id, url: url.url };
    } catch (err) {
      this.metrics.binds.inc({ result: err instanceof OnrampError ? err.code : ErrorCode.Internal });
      throw err;
    }
  }

  private unbind(session: AgentSession, bindId: string): void {
    const bound = session.binds.get(bindId);
    if (!bound) return;
    session.binds.delete(bindId);
    this.table.unbind(bound.host, bound.memberId);
    this.metrics.endpoints.set(this.table.size);
    this.options.logger.info({ session: session.id, host: bound.host }, "endpoint unbound");
  }

  private removeSession(session: AgentSession): void {
    for (const bindId of [...session.binds.keys()]) this.unbind(session, bindId);
    this.sessions.delete(session.id);
    this.metrics.sessions.set(this.sessions.size);
  }

  private acceptDataConnection(socket: Socket): void {
    const connection = new MuxConnection(socket, true, {}, this.options.mux);
    const timer = setTimeout(() => connection.destroy(new Error("no data hello in time")), this.options.handshakeTimeoutMs);
    connection.events.onHello = (payload) => {
      clearTimeout(timer);
      connection.events.onHello = undefined;
      let session: AgentSession | undefined;
      try {
        const hello = decodeDataHello(payload);
        session = this.sessions.get(hello.sessionId);
        const token = Buffer.from(hello.dataToken);
        if (!session || session.ended || token.length !== session.dataToken.length || !timingSafeEqual(token, session.dataToken)) {
          session = undefined;
        }
      } catch {
        session = undefined;
      }
      if (!session) {
        this.options.logger.warn({ remote: connection.remoteAddress }, "data connection refused: unknown session or bad token");
        connection.destroy(new Error("data hello refused"));
        return;
      }
      connection.sendHello(new Uint8Array(0));
      session.addConnection(connection);
      this.metrics.dataConnections.inc();
      void connection.closed().then(() => this.metrics.dataConnections.dec());
    };
  }
}

export function createEdge(options: EdgeOptions): Edge {
  return new Edge(options);
}

function listen(server: NetServer, addr: HostPort, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const why = err.code === "EADDRINUSE" ? "the address is already in use" : err.code === "EACCES" ? "permission denied" : err.message;
      reject(new OnrampError(ErrorCode.InvalidArgument, `cannot listen for ${what} on ${addr.host}:${addr.port}: ${why}`, { cause: err }));
    };
    server.once("error", onError);
    server.listen(addr.port, addr.host, () => {
      server.off("error", onError);
      const a = server.address() as AddressInfo;
      resolve(`${a.family === "IPv6" ? `[${a.address}]` : a.address}:${a.port}`);
    });
  });
}
