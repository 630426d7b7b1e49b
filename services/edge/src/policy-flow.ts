import { ErrorCode, OnrampError } from "@onramp/errors";
import {
  createRequestContext,
  createTcpContext,
  type CircuitBreakerTicket,
  type ConnInfo,
  type ConnTls,
  type EndpointInfo,
  type HttpRequestState,
  type Policy,
  type PolicyLogRecord,
  type PolicyRuntime,
  type RequestContext,
  type RequestOutcome,
  type ResponseInfo,
  type ResponseOutcome,
  type TcpContext,
} from "@onramp/policy";
import type { ResponseHeadFields as ResponseHead } from "@onramp/mux";
import type { Logger, Span } from "@onramp/telemetry";
import type { RequestRecord, RequestTelemetry } from "./request-telemetry.js";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { resolveEndpoint, routeWhenReady, type EdgeEndpoint, type Route } from "./dispatch.js";
import type { Duplex } from "node:stream";
import { writeRawError, writeRawResponse } from "./error-response.js";
import { clientIpOf } from "./forwarded-headers.js";
import { clientTlsOf } from "./client-tls.js";
import { shapeOf, type HttpProxy, type PolicyHandler, type RequestShape, type ResponseDecision } from "./http-proxy.js";
import { ClientAbort, CLIENT_ABORT, HttpExchange, responseClosed, settle, type AbortOwner, type BodySource, type Exchange, type PolicyFlowParts } from "./policy-exchange.js";
import { flatten, requestState, shapeOfState, toMap } from "./policy-request-state.js";
import { forwardUpgrade } from "./upgrade-proxy.js";
import type { RoutingTable } from "./routing-table.js";
import type { ClientConnections } from "./client-connections.js";

/** forward-internal may chain endpoints; 8 hops is far past any sane design and stops loops. */
const MAX_INTERNAL_HOPS = 8;


/**
 * Runs traffic policies around a request: the request phase decides (respond, close, forward to
 * an internal endpoint, or continue to the picked member, possibly rewritten), and the response
 * phase may rewrite, replace or compress what comes back.
 */
export class PolicyFlow implements PolicyHandler, PolicyFlowParts {
  private readonly telemetry: RequestTelemetry;

  constructor(
    readonly proxy: HttpProxy,
    private readonly table: RoutingTable,
    private readonly runtime: PolicyRuntime,
    private readonly region: string,
    private readonly logger: Logger,
    private readonly connections: ClientConnections,
  ) {
    this.telemetry = proxy.telemetry;
  }

  handle(req: IncomingMessage, res: ServerResponse, endpoint: EdgeEndpoint, route: Route | undefined, expectContinue: boolean, record: RequestRecord): void {
    const abort = new ClientAbort();
    // Only a client that left early cancels policy work (a JWKS wait); aborting on every normal
    // close would build a DOMException per request.
    (res as AbortOwner)[CLIENT_ABORT] = abort;
    res.on("close", responseClosed);
    const exchange = new HttpExchange(this, req, res, record, expectContinue);
    this.start(req, endpoint, route, abort, shapeOf(req), record, exchange, exchange);
  }

  /** The request phase for a protocol switch (WebSocket): a policy that denies it denies the upgrade. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, early: Buffer, endpoint: EdgeEndpoint, route: Route | undefined): void {
    const abort = new ClientAbort();
    socket.once("close", () => abort.leave());
    this.start(req, endpoint, route, abort, shapeOf(req, true), undefined, undefined, {
      respond: (r) => {
        endpoint.meter.upgradeEnded("denied");
        writeRawResponse(socket, r);
      },
      fail: (error) => {
        const unrouted = error.code === ErrorCode.EndpointOffline || error.code === ErrorCode.EndpointNotFound;
        endpoint.meter.upgradeEnded(unrouted ? "unrouted" : "denied");
        writeRawError(socket, error);
      },
      close: () => {
        endpoint.meter.upgradeEnded("denied");
        socket.destroy();
      },
      forward: (target, targetRoute, request, _policy, _ctx, tickets) => {
        settle(tickets, 101);
        forwardUpgrade(req, socket, early, target, targetRoute, shapeOfState(request));
      },
    });
  }

  private start(
    req: IncomingMessage,
    endpoint: EdgeEndpoint,
    route: Route | undefined,
    signal: ClientAbort,
    shape: RequestShape,
    record: RequestRecord | undefined,
    bodies: BodySource | undefined,
    exchange: Exchange,
  ): void {
    const x: PolicyExchange = { req, signal, request: requestState(req, shape), hops: 0, tickets: [], exchange, record, bodies };
    let pending: void | Promise<void>;
    try {
      pending = this.run(x, endpoint, route);
    } catch (err) {
      return this.failed(x, endpoint, route, err);
    }
    pending?.catch((err: unknown) => this.failed(x, endpoint, route, err));
  }

  private failed(x: PolicyExchange, endpoint: EdgeEndpoint, route: Route | undefined, err: unknown): void {
    route?.release();
    settle(x.tickets, "error");
    if (x.signal.gone) return;
    // A body too large, stalled or abandoned is the client's doing, answered with its code.
    const clientFault = err instanceof OnrampError && (err.code === ErrorCode.PolicyBodyTooLarge || err.code === ErrorCode.RequestTimeout || err.code === ErrorCode.ClientClosed);
    if (!clientFault) this.logger.warn({ err, endpoint: endpoint.url.url }, "traffic policy failed");
    x.exchange.fail(OnrampError.from(err, ErrorCode.Internal, "the traffic policy failed"));
  }

  /**
   * The request phase of the endpoint's policy, then what its outcome says. Synchronous when every
   * action answers at once (the usual case: JWTs verified before, counters in memory): no promise
   * per request, and the request goes on in the same turn of the event loop.
   */
  private run(x: PolicyExchange, endpoint: EdgeEndpoint, route: Route | undefined): void | Promise<void> {
    const { req, exchange, tickets } = x;
    const policy = endpoint.cloudPolicy ?? route?.member.policy;
    if (!policy) return exchange.forward(endpoint, route!, x.request, undefined, undefined, tickets);
    const conn = new ClientConn(req, this.region, this.connections.of(req.socket).startedAt);
    // The first endpoint's policy sees the request head arrive; a forward-internal hop keeps it.
    x.request.receivedAtMs ??= Date.now();
    const endpointInfo = endpointInfoOf(endpoint);
    if (policy.ruleCounts.on_tcp_connect > 0 && !this.tcpPhaseAllows(req.socket, policy, createTcpContext({ conn, endpoint: endpointInfo }), endpoint)) {
      route?.release();
      exchange.close();
      return;
    }
    if (policy.needsRequestBody && x.bodies && !x.request.body) x.request.body = x.bodies.makeBody();
    const ctx = createRequestContext({ conn, endpoint: endpointInfo, request: x.request });
    const span = x.record && this.telemetry.child(x.record, "policy on_http_request", () => ({ "onramp.endpoint.url": endpoint.url.url }));
    let outcome: RequestOutcome | Promise<RequestOutcome>;
    try {
      outcome = policy.runHttpRequest(ctx, this.runtime, x.signal.signal);
    } catch (err) {
      span?.end();
      throw err;
    }
    if (outcome instanceof Promise) {
      // `finally` costs two promises and a closure: only a span needs it.
      return (span ? outcome.finally(() => span.end()) : outcome).then((o) => this.decide(x, endpoint, route, policy, ctx, span, o));
    }
    span?.end();
    return this.decide(x, endpoint, route, policy, ctx, span, outcome);
  }

  /** Acts on the request phase's outcome: at once, except a forward-internal hop, which waits for its target. */
  private decide(x: PolicyExchange, endpoint: EdgeEndpoint, route: Route | undefined, policy: Policy, ctx: RequestContext, span: Span | undefined, outcome: RequestOutcome): void | Promise<void> {
    const { exchange, tickets } = x;
    this.log(outcome.logs, endpoint);
    if (outcome.circuitBreakers.length > 0) tickets.push(...outcome.circuitBreakers);
    switch (outcome.kind) {
      case "respond":
        route?.release();
        settle(tickets, outcome.status);
        if (outcome.code) this.rejected(endpoint, outcome.code, span);
        exchange.respond({ status: outcome.status, headers: flatten(outcome.headers), body: outcome.body, code: outcome.code });
        return;
      case "close":
        route?.release();
        settle(tickets, "error");
        exchange.close();
        return;
      case "continue":
        if (!route) {
          throw new OnrampError(ErrorCode.Internal, `the policy of cloud endpoint ${endpoint.url.url} ended without a terminating action`);
        }
        return exchange.forward(endpoint, route, ctx.request, policy, ctx, tickets);
      case "forward-internal":
        return this.forwardInternal(x, endpoint, route, policy, ctx, span, outcome);
    }
  }

  private async forwardInternal(
    x: PolicyExchange,
    endpoint: EdgeEndpoint,
    route: Route | undefined,
    policy: Policy,
    ctx: RequestContext,
    span: Span | undefined,
    outcome: RequestOutcome & { kind: "forward-internal" },
  ): Promise<void> {
    route?.release();
    let target: EdgeEndpoint;
    let targetRoute: Route;
    try {
      if (x.hops >= MAX_INTERNAL_HOPS) throw new OnrampError(ErrorCode.EndpointNotFound, `forward-internal went through ${MAX_INTERNAL_HOPS} endpoints; is there a loop?`);
      target = this.internalEndpoint(outcome.url);
      targetRoute = await routeWhenReady(this.table, target);
    } catch (err) {
      // The rest of the chain runs after the action, as it would had the target answered.
      if (outcome.resume) return this.decide(x, endpoint, route, policy, ctx, span, await outcome.resume());
      settle(x.tickets, "error");
      x.exchange.fail(OnrampError.from(err, ErrorCode.Internal));
      return;
    }
    x.hops++;
    x.request = ctx.request;
    if (x.record) this.telemetry.hop(x.record, `forward-internal ${target.url.url}`, () => ({ "onramp.endpoint.url": target.url.url }));
    return this.run(x, target, targetRoute);
  }

  /**
   * `on_tcp_connect` for an HTTP endpoint: the endpoint is known only once a request names it, so
   * the phase runs at the first request for each endpoint on a client connection.
   */
  private tcpPhaseAllows(socket: Socket, policy: Policy, ctx: TcpContext, endpoint: EdgeEndpoint): boolean {
    const state = this.connections.of(socket);
    if (state.tcpPhaseDone?.has(endpoint.id)) return true;
    const outcome = policy.onTcpConnect(ctx, this.runtime);
    this.log(outcome.logs, endpoint);
    if (outcome.kind === "close") return false;
    (state.tcpPhaseDone ??= new Set()).add(endpoint.id);
    return true;
  }

  /**
   * The response phase of `policy` for a request forwarded to `endpoint`: a decision at once when
   * every action answers at once, else a promise of one.
   */
  responsePhase(policy: Policy, ctx: RequestContext, head: ResponseHead, endpoint: EdgeEndpoint, record: RequestRecord): ResponseDecision | Promise<ResponseDecision> {
    const info = { statusCode: head.status, headers: toMap(head.headers) };
    const span = this.telemetry.child(record, "policy on_http_response", () => ({ "onramp.endpoint.url": endpoint.url.url }));
    const outcome = policy.runHttpResponse(ctx, info, this.runtime);
    if (outcome instanceof Promise) {
      return (span ? outcome.finally(() => span.end()) : outcome).then((o) => this.responseDecision(o, info, head, endpoint, span));
    }
    span?.end();
    return this.responseDecision(outcome, info, head, endpoint, span);
  }

  private responseDecision(outcome: ResponseOutcome, info: ResponseInfo, head: ResponseHead, endpoint: EdgeEndpoint, span: Span | undefined): ResponseDecision {
    this.log(outcome.logs, endpoint);
    if (outcome.kind === "close") return { kind: "close" };
    if (outcome.kind === "respond") {
      if (outcome.code) this.rejected(endpoint, outcome.code, span);
      return { kind: "replace", status: outcome.status, headers: flatten(outcome.headers), body: outcome.body, code: outcome.code };
    }
    return {
      kind: "write",
      status: info.statusCode,
      statusText: info.statusCode === head.status ? head.statusText : "",
      headers: flatten(info.headers),
      compress: outcome.compress?.encoding,
      bodyEdits: outcome.bodyEdits,
    };
  }

  /** A policy answered with an Onramp error (rate limited, denied, JWT rejected, …): counted by endpoint and code. */
  private rejected(endpoint: EdgeEndpoint, code: ErrorCode, span: Span | undefined): void {
    this.telemetry.metrics.policyRejections.inc({ endpoint: this.telemetry.metrics.endpointLabel(endpoint.url.url), error_code: code });
    span?.setAttribute("onramp.error.code", code);
  }

  private internalEndpoint(url: string): EdgeEndpoint {
    let host: string;
    try {
      host = new URL(url).host;
    } catch {
      throw new OnrampError(ErrorCode.EndpointNotFound, `forward-internal: ${JSON.stringify(url)} is not a URL`);
    }
    const endpoint = resolveEndpoint(this.table, host, true);
    if (!endpoint.url.internal) throw new OnrampError(ErrorCode.EndpointNotFound, `forward-internal: ${url} is not an internal endpoint`);
    return endpoint;
  }

  private log(records: PolicyLogRecord[], endpoint: EdgeEndpoint): void {
    // Most outcomes log nothing; an empty array's iterator still cost an allocation per phase.
    if (records.length === 0) return;
    for (const r of records) {
      const fields = { endpoint: endpoint.url.url, phase: r.phase, rule: r.ruleName ?? r.ruleIndex };
      if (r.kind === "log") this.logger.info({ ...fields, metadata: r.metadata }, "traffic policy log");
      else this.logger.warn({ ...fields, error: r.message }, "traffic policy evaluation failed");
    }
  }
}


/** One request on its way through the policies: what every step needs, instead of a parameter chain. */
interface PolicyExchange {
  readonly req: IncomingMessage;
  /** Aborts when the client goes away. */
  readonly signal: ClientAbort;
  /** The request as the policies have shaped it so far. */
  request: HttpRequestState;
  /** forward-internal hops taken. */
  hops: number;
  /** Circuit-breaker tickets to settle with the outcome. */
  readonly tickets: CircuitBreakerTicket[];
  readonly exchange: Exchange;
  /** What the access log, metrics and spans record; undefined for upgrades. */
  readonly record: RequestRecord | undefined;
  /** Offers the body to a policy that reads it; undefined for upgrades, which have none. */
  readonly bodies: BodySource | undefined;
}

/** `conn.*` of a request's client connection; `socket` and `tls` are read only when an expression asks. */
class ClientConn implements ConnInfo {
  readonly clientIp: string;
  readonly clientPort: number;
  /** conn.bytes_in/bytes_out, conn.server_ip/server_port. */
  readonly socket: Socket;

  constructor(
    req: IncomingMessage,
    readonly serverRegion: string,
    readonly startedAtMs: number,
  ) {
    this.socket = req.socket;
    this.clientIp = clientIpOf(req);
    this.clientPort = req.socket.remotePort ?? 0;
  }

  /** conn.tls.* and terminate-tls; undefined over plain HTTP. */
  tls(): ConnTls | undefined {
    return clientTlsOf(this.socket);
  }
}

/** `endpoint.*` of each endpoint, made once (endpoints are replaced, not changed, when their binding changes). */
const ENDPOINT_INFO = new WeakMap<EdgeEndpoint, EndpointInfo>();

function endpointInfoOf(endpoint: EdgeEndpoint): EndpointInfo {
  let info = ENDPOINT_INFO.get(endpoint);
  if (!info) {
    info = { id: endpoint.id, url: endpoint.url.url, host: endpoint.url.host, protocol: endpoint.url.scheme };
    ENDPOINT_INFO.set(endpoint, info);
  }
  return info;
}
