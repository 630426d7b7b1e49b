import { ErrorCode, OnrampError } from "@onramp/errors";
import type { CircuitBreakerTicket, HttpRequestState, Policy, RequestContext } from "@onramp/policy";
import type { ResponseHeadFields as ResponseHead } from "@onramp/mux";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { EdgeEndpoint, Route } from "./dispatch.js";
import { sendError } from "./error-response.js";
import { contentLength, DEFAULT_MAX_POLICY_BODY_BYTES, hasBody, writeReplacement, type ForwardHooks, type HttpProxy, type ResponseDecision } from "./http-proxy.js";
import { policyRequestBody, type PolicyRequestBody } from "./policy-body.js";
import { shapeOfState } from "./policy-request-state.js";
import type { RequestRecord } from "./request-telemetry.js";

// How the outcome of a request's policies reaches its client, with one object per request.

/** How the outcome of a policy reaches the client: an HTTP response or a raw upgrade socket. */
export interface Exchange {
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

/** What an exchange needs of the policy flow (PolicyFlow): the proxy to forward with, and the response phase. */
export interface PolicyFlowParts {
  readonly proxy: HttpProxy;
  responsePhase(policy: Policy, ctx: RequestContext, head: ResponseHead, endpoint: EdgeEndpoint, record: RequestRecord): ResponseDecision | Promise<ResponseDecision>;
}

export function settle(tickets: CircuitBreakerTicket[], result: number | "error"): void {
  for (const t of tickets.splice(0)) t.settle(result);
}

export interface BodySource {
  makeBody(): PolicyRequestBody;
}

/**
 * The client going away, as the AbortSignal policy actions wait with (a JWKS fetch, an
 * http-request, a login), made only when an action asks for it: an AbortController cost about
 * 3% of the edge's CPU with a policy when one was made for every request.
 */
export class ClientAbort {
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

/** Where a response keeps its request's ClientAbort, for the one shared close listener (no closure per request). */
export const CLIENT_ABORT = Symbol("onramp.clientAbort");
export type AbortOwner = ServerResponse & { [CLIENT_ABORT]?: ClientAbort };

export function responseClosed(this: ServerResponse): void {
  if (!this.writableFinished) (this as AbortOwner)[CLIENT_ABORT]?.leave();
}

/**
 * One HTTP request under a policy: how its outcome reaches the client, and its body for a policy
 * that reads it. A class rather than a dozen closures: it is made for every such request.
 */
export class HttpExchange implements Exchange, BodySource {
  /** Made only for a policy that reads the body (Policy.needsRequestBody), and read only if one of
   *  its actions runs; otherwise the body streams after the request phase as it always has. */
  private body: PolicyRequestBody | undefined;
  private continued = false;

  constructor(
    private readonly flow: PolicyFlowParts,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly record: RequestRecord,
    private readonly expectContinue: boolean,
  ) {}

  makeBody(): PolicyRequestBody {
    const options = this.flow.proxy.options;
    return (this.body ??= policyRequestBody(this.req, {
      hasBody: hasBody(this.req),
      declaredBytes: contentLength(this.req),
      limitBytes: Math.min(options.maxPolicyBodyBytes ?? DEFAULT_MAX_POLICY_BODY_BYTES, options.maxRequestBodyBytes),
      bodyTimeoutMs: options.bodyTimeoutMs ?? 0,
      beforeRead: () => this.sendContinue(),
    }));
  }

  respond(r: { status: number; headers: string[]; body: string; code: ErrorCode | undefined }): void {
    writeReplacement(this.res, r, this.unread());
  }

  fail(error: OnrampError): void {
    sendError(this.res, error, this.unread());
  }

  close(): void {
    this.req.socket.destroy();
  }

  forward(target: EdgeEndpoint, targetRoute: Route, request: HttpRequestState, policy: Policy | undefined, ctx: RequestContext | undefined, tickets: CircuitBreakerTicket[]): void {
    this.sendContinue();
    const hooks =
      policy && ctx && policy.ruleCounts.on_http_response > 0 ? new ResponsePhaseHooks(tickets, this.flow, policy, ctx, target, this.record) : new SettleHooks(tickets);
    this.flow.proxy.forward(this.req, this.res, target, targetRoute, shapeOfState(request, this.body?.buffered()), hooks, this.record);
  }

  private sendContinue(): void {
    if (this.expectContinue && !this.continued) this.res.writeContinue();
    this.continued = true;
  }

  /** A body read whole leaves the connection reusable; one left unread (or half read) is not. */
  private unread(): boolean {
    return hasBody(this.req) && !this.body?.buffered();
  }
}

/** Settles the circuit-breaker tickets with the forwarded request's result. */
class SettleHooks implements ForwardHooks {
  constructor(private readonly tickets: CircuitBreakerTicket[]) {}

  settled(result: number | "error"): void {
    settle(this.tickets, result);
  }
}

/** As SettleHooks, and runs the policy's response phase on the response head. */
class ResponsePhaseHooks extends SettleHooks {
  constructor(
    tickets: CircuitBreakerTicket[],
    private readonly flow: PolicyFlowParts,
    private readonly policy: Policy,
    private readonly ctx: RequestContext,
    private readonly target: EdgeEndpoint,
    private readonly record: RequestRecord,
  ) {
    super(tickets);
  }

  response(head: ResponseHead): ResponseDecision | Promise<ResponseDecision> {
    return this.flow.responsePhase(this.policy, this.ctx, head, this.target, this.record);
  }
}
