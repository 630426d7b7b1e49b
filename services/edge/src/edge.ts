import { Server as GrpcServer, ServerCredentials } from "@grpc/grpc-js";
import { ErrorCode, OnrampError } from "@onramp/errors";
import { createInProcessBus, Gossip, type Bus } from "@onramp/mesh";
import { resolveMuxOptions, type MuxConnection } from "@onramp/mux";
import { AgentService, grpcServiceDefinition } from "@onramp/proto";
import { createPolicyRuntime, formatPolicyErrors, loadPolicy, type Policy, type PolicyRuntime } from "@onramp/policy";
import { createMemoryRegistry, type Registry, type RegistryWatch } from "@onramp/registry";
import { createEdgeMetrics, type EdgeMetrics } from "@onramp/telemetry";
import type { Server as HttpServer } from "node:http";
import type { Server as NetServer } from "node:net";
import { AccessControl } from "./access-control.js";
import { isIP } from "node:net";
import { AcmeCertificates } from "./acme-certificates.js";
import { createAdminServer } from "./admin-server.js";
import { createAgentListener } from "./agent-listener.js";
import type { AgentSession } from "./agent-session.js";
import { ClientConnections } from "./client-connections.js";
import { createConnectHandler } from "./control-service.js";
import { acceptDataConnection } from "./data-connections.js";
import { parseEndpointUrl, publicUrlOf } from "./endpoint-url.js";
import { HttpProxy } from "./http-proxy.js";
import { createHttpIngress, createHttpsIngress, type PublicTlsServer } from "./http-ingress.js";
import { LocalBinds } from "./local-binds.js";
import { MeshRouting } from "./mesh-routing.js";
import { loadIpIntelligence } from "./geoip-database.js";
import { PolicyFlow } from "./policy-flow.js";
import { RandomUrls } from "./random-urls.js";
import { advertiseOf, derivedEdgeId, listen, withTimeout } from "./edge-startup.js";
import { resolveEdgeOptions, type EdgeOptions, type ResolvedEdgeOptions } from "./options.js";
import { RelayClient } from "./relay-client.js";
import { RequestTelemetry } from "./request-telemetry.js";
import { acceptRelayConnection } from "./relay-server.js";
import { RoutingTable } from "./routing-table.js";
import { CertificateStore } from "./tls-certificates.js";
import { createClusterTls, type ClusterTls } from "./cluster-tls.js";
import { askForClientCertificates } from "./client-tls.js";
import { poolMemberCensus } from "./pool-census.js";
import { routingMeterOf } from "./routing-meter.js";

/** Where a started edge listens, as host:port strings. */
export interface EdgeAddresses {
  http: string;
  /** The HTTPS listener, when there is one. */
  https: string | undefined;
  agent: string;
  admin: string | undefined;
  /** Where other edges reach this one. */
  advertise: string;
}

/** gRPC keepalive: ping idle agents every 10 s, give up after 5 s; let agents ping every 5 s. */
const GRPC_SERVER_OPTIONS = {
  "grpc.keepalive_time_ms": 10_000,
  "grpc.keepalive_timeout_ms": 5_000,
  "grpc.keepalive_permit_without_calls": 1,
  "grpc.http2.min_ping_interval_without_data_ms": 5_000,
};

/** 15 s for the registry to accept this edge at start: long enough for an etcd election, short enough to fail visibly. */
const REGISTER_TIMEOUT_MS = 15_000;
/** How soon an agent refused while this edge's workers start should ask again: a worker starts in about a second. */
const WORKERS_STARTING_RETRY_MS = 500;

export const EDGE_VERSION = "0.1.0";

/**
 * An edge: public HTTP ingress, the agent port (gRPC control, data and relay connections) and
 * the admin port. Assembled from parts it is given — registry, bus, rate-limit store — so the
 * same edge runs alone (in-memory defaults) or as one of many in a mesh (etcd, NATS).
 */
export class Edge {
  readonly options: ResolvedEdgeOptions;
  readonly metrics: EdgeMetrics = createEdgeMetrics();
  readonly table: RoutingTable;
  /** Shared by every policy on this edge: clock, JWKS fetching, rate-limit counters. */
  readonly policyRuntime: PolicyRuntime;
  readonly registry: Registry;
  readonly bus: Bus;
  /** Who may connect and what they may bind: the bootstrap tokens, and the registry's tokens and reserved domains. */
  private readonly access: AccessControl;
  private readonly randomUrls: RandomUrls;
  private readonly sessions = new Map<string, AgentSession>();
  private readonly grpc = new GrpcServer(GRPC_SERVER_OPTIONS);
  private readonly http: HttpServer;
  private readonly https: PublicTlsServer | undefined;
  private readonly certificates: CertificateStore | undefined;
  /** Certificates by ACME for the hostnames the mesh serves (--acme-email). */
  private readonly acme: AcmeCertificates | undefined;
  /** Client certificates between edges (--cluster-ca, --cluster-cert). */
  private readonly clusterTls: ClusterTls;
  private readonly agentListener: NetServer;
  private readonly admin: HttpServer | undefined;
  private readonly connections = new ClientConnections();
  private routing: MeshRouting | undefined;
  private binds: LocalBinds | undefined;
  private relay: RelayClient | undefined;
  private readonly telemetry: RequestTelemetry;
  private gossip: Gossip | undefined;
  private watch: RegistryWatch | undefined;
  private edgeIdValue: string | undefined;
  private addressesValue: EdgeAddresses | undefined;
  private draining = false;
  /** Relay connections other edges opened to this one: drained (not cut) when this edge stops. */
  private readonly inboundRelays = new Set<MuxConnection>();

  constructor(options: EdgeOptions) {
    this.options = resolveEdgeOptions(options);
    const { logger } = this.options;
    this.registry = this.options.registry ?? createMemoryRegistry();
    this.bus = this.options.bus ?? createInProcessBus();
    const ipIntelligence = loadIpIntelligence(this.options.ipIntelligenceFiles);
    this.policyRuntime = createPolicyRuntime({
      ...(this.options.rateLimits ? { rateLimits: this.options.rateLimits } : {}),
      ...(ipIntelligence ? { ipIntelligence } : {}),
      // Without a configured secret the runtime makes a random one: logins last as long as this process.
      ...(this.options.sessionSecret ? { auth: { fetch: (url: string, init: RequestInit) => fetch(url, init), sessionSecret: this.options.sessionSecret } } : {}),
    });
    this.table = new RoutingTable(this.options.region, routingMeterOf(this.metrics));
    this.metrics.countPoolMembers(poolMemberCensus(this.table, this.metrics.endpointLabel));
    this.telemetry = new RequestTelemetry(this.metrics, logger, this.options.tracing, this.options.region, { accessLog: this.options.accessLog });
    const proxy = new HttpProxy(this.table, this.options, this.telemetry, logger);
    proxy.policies = new PolicyFlow(proxy, this.table, this.policyRuntime, this.options.region, logger, this.connections);
    // Cloud endpoints are checked now, so a bad config fails before anything listens.
    this.options.cloudEndpoints.forEach((c, i) => this.compileCloudEndpoint(c, i));
    // Certificates too: a missing file, a wrong key or an expired certificate fails the start.
    if (this.options.httpsAddr) {
      if (this.options.tlsCertificates.length > 0) this.certificates = new CertificateStore(this.options.tlsCertificates, logger);
      if (this.options.acme) this.acme = new AcmeCertificates(this.options.acme, { edgeId: () => this.edgeId, serves: (host) => this.serves(host), logger });
      this.https = createHttpsIngress(proxy, this.table, this.options, this.connections, logger, this.certificates, this.acme);
    }
    this.clusterTls = createClusterTls(this.options.clusterCa, this.options.clusterCertificate, this.certificates, logger);
    const redirect = this.options.redirectHttpToHttps ? () => this.httpsPort()! : undefined;
    this.http = createHttpIngress(proxy, this.table, this.options, this.connections, logger, redirect, this.acme);

    this.randomUrls = new RandomUrls(this.options.domain, () => this.publicPort());
    this.access = new AccessControl({
      bootstrapTokens: this.options.authtokens,
      allowAnyToken: this.options.allowAnyToken,
      source: this.options.access,
      sessions: () => this.sessions.values(),
      pickedFor: (credential, bindId, host) => this.randomUrls.pickedFor(credential, bindId, host),
      logger,
    });
    this.grpc.addService(grpcServiceDefinition(AgentService), {
      connect: createConnectHandler({
        admit: (token) => {
          // A worker of `onramp edge --workers` whose group is still starting: agents come back
          // in a moment (told when, so they do not back off), when the Welcome can name every worker.
          if (this.options.siblings() === undefined) {
            throw new OnrampError(ErrorCode.EdgeDraining, "the edge is starting its workers; try again in a moment", { retryAfterMs: WORKERS_STARTING_RETRY_MS });
          }
          return this.access.admit(token);
        },
        bind: (session, bind) => {
          if (this.draining || !this.binds) return Promise.reject(new OnrampError(ErrorCode.EdgeDraining, "the edge is not serving; connect to another edge"));
          return this.binds.bind(session, bind).then((bound) => ({ ...bound, publicUrl: publicUrlOf(parseEndpointUrl(bound.url), this.publicPort(), this.httpsPort()) }));
        },
        unbind: (session, bindId) => this.binds?.unbind(session, bindId) ?? Promise.resolve(),
        upstreamHealth: (session, bindId, healthy, detail) => this.binds?.setHealth(session, bindId, healthy, detail),
        addSession: (session) => {
          this.sessions.set(session.id, session);
          this.metrics.sessions.set(this.sessions.size);
          void this.registry.putSession({ id: session.id, edge: this.edgeId, agent_id: session.agentId, remote: session.remoteAddress, started_at: new Date().toISOString() });
        },
        removeSession: (session) => this.removeSession(session),
        welcome: () => ({
          edgeId: this.edgeId,
          region: this.options.region,
          heartbeatIntervalMs: this.options.heartbeatIntervalMs,
          dataConnections: this.options.dataConnections,
          initialStreamWindow: resolveMuxOptions(this.options.mux).initialStreamWindow,
          edges: this.gossip?.livePeers().map((p) => p.advertise) ?? [],
          siblings: [...(this.options.siblings() ?? [])],
        }),
        handshakeTimeoutMs: this.options.handshakeTimeoutMs,
        logger,
      }),
    });
    const injector = this.grpc.createConnectionInjector(ServerCredentials.createInsecure());
    const handshakeTimeoutMs = this.options.handshakeTimeoutMs;
    this.agentListener = createAgentListener(
      {
        grpc: (socket) => injector.injectConnection(socket),
        data: (socket) =>
          acceptDataConnection(socket, { sessionById: (id) => this.sessions.get(id), mux: this.options.mux, handshakeTimeoutMs, metrics: this.metrics, logger }),
        relay: (socket) =>
          acceptRelayConnection(socket, {
            edgeId: this.edgeId,
            tracing: this.options.tracing,
            onStream: () => this.metrics.relayStreams.inc({ direction: "inbound" }),
            clusterSecret: this.options.clusterSecret,
            peerCheck: this.clusterTls.peerCheck,
            sessionFor: (bindId) => this.binds?.sessionFor(bindId),
            mux: this.options.mux,
            handshakeTimeoutMs,
            logger,
            onConnection: (connection) => {
              this.inboundRelays.add(connection);
              this.metrics.relayConnections.inc({ direction: "inbound" });
              void connection.closed().then(() => {
                this.inboundRelays.delete(connection);
                this.metrics.relayConnections.dec({ direction: "inbound" });
              });
            },
          }),
      },
      handshakeTimeoutMs,
      logger,
      // With a certificate the agent port serves TLS too: agents verify the edge (docs/security.md).
      this.certificates,
      // With a cluster CA it also asks for client certificates, which relays must present.
      this.clusterTls.peerCheck !== undefined,
      // With ACME, the certificate of the name agents dial (--advertise-addr) comes by ACME too.
      this.acme,
    );
    this.admin = this.options.adminAddr
      ? createAdminServer(this.table, this.metrics, () => ({
          edge: this.edgeIdValue ?? "",
          region: this.options.region,
          sessions: this.sessions.size,
          draining: this.draining,
          peers: this.gossip?.livePeers().map((p) => ({ id: p.id, region: p.region, advertise: p.advertise, relay: this.relay?.connectedPeers().includes(p.id) ?? false })) ?? [],
        }))
      : undefined;
  }

  get addresses(): EdgeAddresses {
    if (!this.addressesValue) throw new OnrampError(ErrorCode.Internal, "the edge is not started");
    return this.addressesValue;
  }

  /** This edge's id in the mesh; known once started. */
  get edgeId(): string {
    if (!this.edgeIdValue) throw new OnrampError(ErrorCode.Internal, "the edge is not started");
    return this.edgeIdValue;
  }

  async start(): Promise<EdgeAddresses> {
    const o = this.options;
    const http = await listen(this.http, o.httpAddr, "http");
    const https = this.https && o.httpsAddr ? await listen(this.https, o.httpsAddr, "https") : undefined;
    this.certificates?.watch();
    this.clusterTls.watch();
    // Each worker of `onramp edge --workers` has its own agent and admin ports; the public ones are shared.
    const agent = await listen(this.agentListener, o.grpcAddr, "agent (gRPC)", true);
    const admin = this.admin && o.adminAddr ? await listen(this.admin, o.adminAddr, "admin", true) : undefined;
    const advertise = o.advertiseAddr ?? advertiseOf(agent);
    const edgeId = (this.edgeIdValue = o.edgeId ?? derivedEdgeId(http, agent));
    this.telemetry.edgeId = edgeId;
    this.addressesValue = { http, https, agent, admin, advertise };
    try {
      await this.joinMesh(edgeId, advertise, http);
      await this.acme?.start();
    } catch (err) {
      await this.closeListeners();
      throw err;
    }
    o.logger.info({ edge: edgeId, region: o.region, advertise, http, https, agent, admin, domain: o.domain }, o.readyMessage);
    return this.addressesValue;
  }

  /**
   * Stops taking new requests and sessions, leaves the mesh (peers drop this edge's members at
   * once), asks agents to drain, gives in-flight requests up to `drainTimeoutMs`, then closes.
   */
  async close(): Promise<void> {
    if (this.draining) return;
    this.draining = true;
    const timeout = this.options.drainTimeoutMs;
    await this.gossip?.close();
    this.agentListener.close();
    this.certificates?.close();
    this.clusterTls.close();
    const listeners = [this.http, ...(this.https ? [this.https] : [])];
    const httpClosed = Promise.all(listeners.map((l) => new Promise<void>((resolve) => l.close(() => resolve()))));
    for (const l of listeners) l.closeIdleConnections();
    // Agents are told to move; the other edges stop opening relayed requests here (GOAWAY) and
    // those already sent finish.
    await Promise.all([
      ...[...this.sessions.values()].map((s) => s.drain("edge shutting down", timeout)),
      ...[...this.inboundRelays].map((c) => c.drain(timeout)),
    ]);
    const force = setTimeout(() => listeners.forEach((l) => l.closeAllConnections()), timeout);
    await httpClosed;
    clearTimeout(force);
    this.grpc.forceShutdown();
    this.relay?.close();
    this.watch?.close();
    await this.acme?.close();
    await this.access.close();
    await this.registry.close();
    await this.bus.close();
    await new Promise<void>((resolve) => (this.admin ? this.admin.close(() => resolve()) : resolve()));
    this.options.logger.info("edge stopped");
  }

  private async joinMesh(edgeId: string, advertise: string, http: string): Promise<void> {
    const o = this.options;
    const { logger } = o;
    const relay = o.clusterSecret
      ? new RelayClient({
          edgeId,
          clusterSecret: o.clusterSecret,
          // An edge with a certificate (files or ACME) serves TLS on its agent port, and expects its peers to.
          tls:
            this.certificates || this.acme
              ? {
                  ca: o.clusterCa,
                  ownNames: () => [...(this.certificates?.certificates.flatMap((c) => c.names) ?? []), ...this.agentHostnames()],
                  clientCertificate: this.clusterTls.clientCertificate,
                }
              : undefined,
          addressOf: (edge) => this.routing?.edges.get(edge)?.advertise ?? this.gossip?.livePeers().find((p) => p.id === edge)?.advertise,
          mux: o.mux,
          handshakeTimeoutMs: o.handshakeTimeoutMs,
          logger,
          onConnected: () => this.table.notifyChanged(),
          metrics: this.metrics,
        })
      : undefined;
    this.relay = relay;
    this.table.localEdge = edgeId;
    const routing = (this.routing = new MeshRouting({
      edgeId,
      table: this.table,
      localOpener: (bindId, sessionId) => {
        const session = this.binds?.sessionFor(bindId, sessionId);
        return session ? { opener: () => session.pickConnection() } : undefined;
      },
      localLoad: (bindId, sessionId) => this.binds?.sessionFor(bindId, sessionId)?.load ?? 0,
      relayOpener: (edge) => relay?.requestOpener(edge),
      compilePolicy: (text, kind, source) => this.compilePolicy(text, kind, source, ErrorCode.PolicyInvalid),
      logger,
      onChange: () => this.metrics.endpoints.set(this.table.size),
    }));
    this.binds = new LocalBinds({
      edgeId,
      group: o.worker ? (o.worker.group ?? edgeId) : undefined,
      region: o.region,
      registry: this.registry,
      routing,
      validatePolicy: (text, source) => void this.compilePolicy(text, "agent", source, ErrorCode.PolicyInvalid),
      randomUrl: (session, bindId, attempt) => this.randomUrls.pick(session.credential, bindId, attempt),
      authorize: (session, bindId, url, picked) => this.access.authorize(session, bindId, url, picked),
      announce: (key, revision, binding) => this.gossip?.announce(key, revision, binding),
      announceStatus: (status) => this.gossip?.publishStatus([status]),
      metrics: this.metrics,
      logger,
    });
    this.registry.onLostBinding = (claim, why) => {
      logger.error({ url: claim.binding.url, err: why.message }, "a binding was lost while the registry was unreachable and is held by someone else now");
      this.sessions.get(claim.binding.session_id)?.end(OnrampError.from(why, ErrorCode.BindConflict));
    };
    // Before the edge says it is ready; until then an agent with a registry token is asked to retry.
    await withTimeout(this.access.start(), REGISTER_TIMEOUT_MS, "loading authtokens and reserved domains from the registry");
    await withTimeout(
      this.registry.registerEdge({ id: edgeId, region: o.region, advertise, http, started_at: new Date().toISOString(), version: EDGE_VERSION }),
      REGISTER_TIMEOUT_MS,
      "registering this edge in the registry",
    );
    this.watch = this.registry.watch((event) => routing.onRegistryEvent(event));
    await withTimeout(this.watch.ready(), REGISTER_TIMEOUT_MS, "listing the registry");
    for (const [i, c] of o.cloudEndpoints.entries()) {
      const url = parseEndpointUrl(c.url);
      await this.registry.putCloudEndpoint({
        url: url.url,
        host: url.host,
        traffic_policy: c.trafficPolicy,
        source: c.source ?? `cloud_endpoints[${i}]`,
        updated_by: edgeId,
        updated_at: new Date().toISOString(),
      });
    }
    this.gossip = new Gossip({
      bus: this.bus,
      edgeId,
      region: o.region,
      advertise,
      heartbeatIntervalMs: o.meshHeartbeatMs,
      deadAfterMs: o.meshDeadAfterMs,
      ownBindings: () => routing.view.bindingsOf(edgeId),
      digestOf: (edge) => routing.view.digest(edge),
      ownStatuses: () => routing.ownStatuses(),
      handlers: {
        delta: (d) => routing.onDelta(d.key, d.revision, d.binding),
        snapshot: (edge, bindings, revision) => routing.onSnapshot(edge, bindings, revision),
        status: (_edge, statuses) => routing.onStatus(statuses),
        peerUp: (peer) => {
          logger.info({ peer: peer.id, region: peer.region, advertise: peer.advertise }, "edge joined");
          routing.view.setEdgeDead(peer.id, false);
          relay?.opener(peer.id); // dial now: the first relayed request should not wait for it
        },
        peerDown: (edge) => {
          logger.warn({ peer: edge }, "edge left or stopped heartbeating; its members leave every pool");
          routing.view.setEdgeDead(edge, true);
          relay?.forget(edge);
          this.metrics.endpoints.set(this.table.size);
        },
        error: (err) => logger.debug({ err: err.message }, "gossip"),
      },
    });
    this.gossip.start();
  }

  private async closeListeners(): Promise<void> {
    this.agentListener.close();
    this.http.close();
    this.https?.close();
    this.certificates?.close();
    this.clusterTls.close();
    this.admin?.close();
    this.watch?.close();
    await this.acme?.close().catch(() => undefined);
    await this.access.close().catch(() => undefined);
    await this.registry.close().catch(() => undefined);
    await this.bus.close().catch(() => undefined);
  }

  /**
   * Whether the mesh serves exactly `host`, the only names ACME orders for: an endpoint's own
   * hostname (bound by an agent anywhere in the mesh, or a cloud endpoint; not one a wildcard
   * covers, nor an internal one) or a reserved domain.
   */
  private serves(host: string): boolean {
    const endpoint = this.table.lookup(host);
    if (endpoint && endpoint.url.host === host) return true;
    return this.access.index.reservedNames().includes(host) || this.agentHostnames().includes(host);
  }

  /**
   * The name agents and other edges dial this edge by: --advertise-addr's host when it is a DNS
   * name. With ACME, the agent port gets its certificate for it like any name the mesh serves.
   */
  private agentHostnames(): string[] {
    const advertise = this.addressesValue?.advertise ?? this.options.advertiseAddr;
    const host = advertise?.replace(/:\d+$/, "").replace(/^\[|\]$/g, "").toLowerCase();
    return host && isIP(host) === 0 && host.includes(".") ? [host] : [];
  }

  /** The port clients use: the one `--domain` names (a load balancer in front), else the HTTP listener's. */
  private publicPort(): number {
    const explicit = this.options.domain.split(":")[1];
    return Number(explicit ?? this.addresses.http.split(":").pop());
  }

  /** The HTTPS listener's port, once started; undefined without one. */
  private httpsPort(): number | undefined {
    const https = this.addressesValue?.https;
    return https === undefined ? undefined : Number(https.split(":").pop());
  }

  private compileCloudEndpoint(config: { url: string; trafficPolicy: string; source?: string }, index: number): void {
    const where = config.source ?? `cloud_endpoints[${index}]`;
    try {
      parseEndpointUrl(config.url);
    } catch (err) {
      throw new OnrampError(ErrorCode.InvalidArgument, `${where}: ${(err as Error).message}`);
    }
    this.compilePolicy(config.trafficPolicy, "cloud", `${where}.traffic_policy`, ErrorCode.InvalidArgument);
  }

  /** Loads and validates a policy, or throws with every problem listed with its position. */
  private compilePolicy(text: string, kind: "agent" | "cloud", filename: string, code: ErrorCode): Policy {
    const loaded = loadPolicy(text, { kind, filename, regionName: this.options.region,
      ...(this.options.secrets ? { secrets: this.options.secrets } : {}),
      ...(this.policyRuntime.ipIntelligence ? { ipIntelligence: this.policyRuntime.ipIntelligence.features } : {}),
      ipPolicies: this.options.ipPolicies,
    });
    if (!loaded.ok) {
      throw new OnrampError(code, `the traffic policy is invalid:\n${formatPolicyErrors(loaded.errors)}`);
    }
    // terminate-tls with mutual TLS: from now on the HTTPS listener asks clients for certificates.
    if (loaded.policy.requestsClientCertificates && this.https && askForClientCertificates(this.https)) {
      this.options.logger.info({ policy: filename }, "HTTPS listener now asks clients for certificates (a traffic policy checks them with terminate-tls)");
    }
    return loaded.policy;
  }

  private removeSession(session: AgentSession): void {
    this.sessions.delete(session.id);
    this.metrics.sessions.set(this.sessions.size);
    void this.binds?.removeSession(session);
    void this.registry.deleteSession(this.edgeId, session.id);
  }
}

export function createEdge(options: EdgeOptions): Edge {
  return new Edge(options);
}
