import { ErrorCode, OnrampError } from "@onramp/errors";
import {
  createRequestContext,
  createTcpContext,
  type CircuitBreakerTicket,
  type HttpRequestState,
  type Policy,
  type PolicyLogRecord,
  type PolicyRuntime,
  type RequestContext,
  type RequestOutcome,
  type TcpContext,
} from "@onramp/policy";
import type { ResponseHeadFields as ResponseHead } from "@onramp/mux";
import type { Logger, Span } from "@onramp/telemetry";
import type { RequestRecord, RequestTelemetry } from "./request-telemetry.js";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { resolveEndpoint, routeWhenReady, type EdgeEndpoint, type Route } from "./dispatch.js";
import type { Duplex } from "node:stream";
import { sendError, writeRawError, writeRawResponse } from "./error-response.js";
import { clientIpOf } from "./forwarded-headers.js";
import { clientTlsOf } from "./client-tls.js";
import {
  contentLength,
  DEFAULT_MAX_POLICY_BODY_BYTES,
  hasBody,
  shapeOf,
  writeReplacement,
  type HttpProxy,
  type PolicyHandler,
  type RequestShape,
  type ResponseDecision,
} from "./http-proxy.js";
import { policyRequestBody, type PolicyRequestBody } from "./policy-body.js";
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
export class PolicyFlow implements PolicyHandler {
  private readonly telemetry: RequestTelemetry;

  constructor(
    private readonly proxy: HttpProxy,
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
    res.once("close", () => {
      if (!res.writableFinished) abort.leave();
    });
    // Made only for a policy that reads the body (Policy.needsRequestBody), and read only if one of
    // its actions runs; otherwise the body streams after the request phase as it always has.
    let body: PolicyRequestBody | undefined;
    let continued = false;
    const sendContinue = () => {
      if (expectContinue && !continued) res.writeContinue();
      continued = true;
    };
    const makeBody = () =>
      (body ??= policyRequestBody(req, {
        hasBody: hasBody(req),
        declaredBytes: contentLength(req),
        limitBytes: Math.min(this.proxy.options.maxPolicyBodyBytes ?? DEFAULT_MAX_POLICY_BODY_BYTES, this.proxy.options.maxRequestBodyBytes),
        bodyTimeoutMs: this.proxy.options.bodyTimeoutMs ?? 0,
        beforeRead: sendContinue,
      }));
    // A body read whole leaves the connection reusable; one left unread (or half read) is not.
    const unread = () => hasBody(req) && !body?.buffered();
    this.start(req, endpoint, route, abort, shapeOf(req), record, makeBody, {
      respond: (r) => writeReplacement(res, r, unread()),
      fail: (error) => sendError(res, error, unread()),
      close: () => req.socket.destroy(),
      forward: (target, targetRoute, request, policy, ctx, tickets) => {
        sendContinue();
        const respond = policy && ctx && policy.ruleCounts.on_http_response > 0;
        this.proxy.forward(
          req,
          res,
          target,
          targetRoute,
          shapeOfState(request, body?.buffered()),
          {
            settled: (result) => settle(tickets, result),
            response: respond ? (head) => this.responsePhase(policy, ctx, head, target, record) : undefined,
          },
          record,
        );
      },
    });
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
    makeBody: (() => PolicyRequestBody) | undefined,
    exchange: Exchange,
  ): void {
    const x: PolicyExchange = { req, signal, request: requestState(req, shape), hops: 0, tickets: [], exchange, record, makeBody };
    this.run(x, endpoint, route).catch((err: unknown) => {
      route?.release();
      settle(x.tickets, "error");
      if (signal.gone) return;
      // A body too large, stalled or abandoned is the client's doing, answered with its code.
      const clientFault = err instanceof OnrampError && (err.code === ErrorCode.PolicyBodyTooLarge || err.code === ErrorCode.RequestTimeout || err.code === ErrorCode.ClientClosed);
      if (!clientFault) this.logger.warn({ err, endpoint: endpoint.url.url }, "traffic policy failed");
      exchange.fail(OnrampError.from(err, ErrorCode.Internal, "the traffic policy failed"));
    });
  }

  private async run(x: PolicyExchange, endpoint: EdgeEndpoint, route: Route | undefined): Promise<void> {
    const { req, exchange, tickets } = x;
    const policy = endpoint.cloudPolicy ?? route?.member.policy;
    if (!policy) return exchange.forward(endpoint, route!, x.request, undefined, undefined, tickets);
    const conn = {
      clientIp: clientIpOf(req),
      clientPort: req.socket.remotePort ?? 0,
      serverRegion: this.region,
      startedAtMs: this.connections.of(req.socket).startedAt,
      // Read only when an expression asks: conn.bytes_in/bytes_out, conn.server_ip/server_port.
      socket: req.socket,
      // conn.tls.* and terminate-tls; undefined over plain HTTP.
      tls: () => clientTlsOf(req.socket),
    };
    // The first endpoint's policy sees the request head arrive; a forward-internal hop keeps it.
    x.request.receivedAtMs ??= Date.now();
    const endpointInfo = { id: endpoint.id, url: endpoint.url.url, host: endpoint.url.host, protocol: endpoint.url.scheme };
    if (policy.ruleCounts.on_tcp_connect > 0 && !this.tcpPhaseAllows(req.socket, policy, createTcpContext({ conn, endpoint: endpointInfo }), endpoint)) {
      route?.release();
      exchange.close();
      return;
    }
    if (policy.needsRequestBody && x.makeBody && !x.request.body) x.request.body = x.makeBody();
    const ctx = createRequestContext({ conn, endpoint: endpointInfo, request: x.request });
    const span = x.record && this.telemetry.child(x.record, "policy on_http_request", () => ({ "onramp.endpoint.url": endpoint.url.url }));
    let outcome: RequestOutcome = await policy.onHttpRequest(ctx, this.runtime, x.signal.signal).finally(() => span?.end());
    for (;;) {
      this.log(outcome.logs, endpoint);
      tickets.push(...outcome.circuitBreakers);
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
        case "forward-internal": {
          route?.release();
          let target: EdgeEndpoint;
          let targetRoute: Route;
          try {
            if (x.hops >= MAX_INTERNAL_HOPS) throw new OnrampError(ErrorCode.EndpointNotFound, `forward-internal went through ${MAX_INTERNAL_HOPS} endpoints; is there a loop?`);
            target = this.internalEndpoint(outcome.url);
            targetRoute = await routeWhenReady(this.table, target);
          } catch (err) {
            if (outcome.resume) {
              outcome = await outcome.resume();
              continue;
            }
            settle(tickets, "error");
            exchange.fail(OnrampError.from(err, ErrorCode.Internal));
            return;
          }
          x.hops++;
          x.request = ctx.request;
          if (x.record) this.telemetry.hop(x.record, `forward-internal ${target.url.url}`, () => ({ "onramp.endpoint.url": target.url.url }));
          return this.run(x, target, targetRoute);
        }
      }
    }
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

  private async responsePhase(policy: Policy, ctx: RequestContext, head: ResponseHead, endpoint: EdgeEndpoint, record: RequestRecord): Promise<ResponseDecision> {
    const info = { statusCode: head.status, headers: toMap(head.headers) };
    const span = this.telemetry.child(record, "policy on_http_response", () => ({ "onramp.endpoint.url": endpoint.url.url }));
    const outcome = await policy.onHttpResponse(ctx, info, this.runtime).finally(() => span?.end());
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
  readonly makeBody: (() => PolicyRequestBody) | undefined;
}

/** How the outcome of a policy reaches the client: an HTTP response or a raw upgrade socket. */
interface Exchange {
  respond(response: { status: number; headers: string[]; body: string; code: ErrorCode | undefined }): void;
  fail(error: OnrampError): void;
  close(): void;
  forward(
    endpoint: EdgeEndpoint,
    route: Route,
    request: HttpRequestState,
    policy: Policy | undefined,
    ctx: RequestContext | undefined,
    tickets: CircuitBreakerTicket[],
  ): void;
}

function settle(tickets: CircuitBreakerTicket[], result: number | "error"): void {
  for (const t of tickets.splice(0)) t.settle(result);
}

/** The request a policy sees and edits: the client's, with X-Forwarded-* already set. */
function requestState(req: IncomingMessage, shape: RequestShape): HttpRequestState {
  const q = shape.path.indexOf("?");
  const length = req.headers["content-length"];
  return {
    method: shape.method,
    scheme: "http",
    host: req.headers.host ?? "",
    path: q < 0 ? shape.path : shape.path.slice(0, q),
    rawQuery: q < 0 ? "" : shape.path.slice(q + 1),
    headers: toMap(shape.headers),
    httpVersion: req.httpVersion,
    ...(length !== undefined ? { contentLength: Number(length) } : {}),
  };
}

/** The request to forward; with `body` (read by a policy, maybe rewritten), its Content-Length is that body's. */
function shapeOfState(state: HttpRequestState, body?: Uint8Array): RequestShape {
  if (!state.headers.has("host") && state.host) state.headers.set("host", [state.host]);
  const path = state.rawQuery ? `${state.path}?${state.rawQuery}` : state.path;
  if (!body) return { method: state.method, path, headers: flatten(state.headers) };
  state.headers.delete("transfer-encoding");
  state.headers.set("content-length", [String(body.length)]);
  return { method: state.method, path, headers: flatten(state.headers), body };
}

function toMap(flat: readonly string[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const key = flat[i]!.toLowerCase();
    const list = map.get(key);
    if (list) list.push(flat[i + 1]!);
    else map.set(key, [flat[i + 1]!]);
  }
  return map;
}

function flatten(headers: Map<string, string[]>): string[] {
  const out: string[] = [];
  for (const [name, values] of headers) for (const v of values) out.push(name, v);
  return out;
}

/**
 * The client going away, as the AbortSignal policy actions wait with (a JWKS fetch, an
 * http-request, a login), made only when an action asks for it: an AbortController cost about
 * 3% of the edge's CPU with a policy when one was made for every request.
 */
class ClientAbort {
  gone = false;
  private controller: AbortController | undefined;

  /** For the policy: the signal, made on first use (already aborted when the client is gone). */
  readonly signal = (): AbortSignal => {
    this.controller ??= new AbortController();
    if (this.gone && !this.controller.signal.aborted) this.controller.abort();
    return this.controller.signal;
  };

  leave(): void {
    this.gone = true;
    this.controller?.abort();
  }
}
