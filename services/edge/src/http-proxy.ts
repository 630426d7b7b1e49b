import { ErrorCode, OnrampError } from "@onramp/errors";
import type { Logger } from "@onramp/telemetry";
import type { IncomingMessage, ServerResponse } from "node:http";
import { pickRoute, resolveEndpoint, RouteQueued, routeWhenReady, type EdgeEndpoint, type Route } from "./dispatch.js";
import { sendError } from "./error-response.js";
import { bodyTooLarge, ForwardExchange, type ForwardParts } from "./forward-exchange.js";
import { contentLength, hasBody, shapeOf, type ForwardHooks, type HttpProxyOptions, type PolicyHandler, type RequestShape } from "./request-shape.js";
import type { RequestRecord, RequestTelemetry } from "./request-telemetry.js";
import { RetryBudget } from "./retry-policy.js";
import type { RoutingTable } from "./routing-table.js";

export {
  contentLength,
  DEFAULT_MAX_POLICY_BODY_BYTES,
  hasBody,
  shapeOf,
  writeReplacement,
  type ForwardHooks,
  type HttpProxyOptions,
  type PolicyHandler,
  type RequestShape,
  type ResponseDecision,
} from "./request-shape.js";

/**
 * Proxies one HTTP request to an agent over a data stream: head (with a small body inline),
 * body chunks under the stream's credit window, response head, body and trailers back.
 * Backpressure holds both ways: a slow client pauses the agent, a slow agent pauses the client.
 */
export class HttpProxy {
  policies: PolicyHandler | undefined;

  /** What every forwarded exchange shares. */
  private readonly parts: ForwardParts;

  constructor(
    private readonly table: RoutingTable,
    readonly options: HttpProxyOptions,
    readonly telemetry: RequestTelemetry,
    logger: Logger,
  ) {
    this.parts = { options, metrics: telemetry.metrics, telemetry, logger, budget: new RetryBudget() };
  }

  handle(req: IncomingMessage, res: ServerResponse, expectContinue: boolean): void {
    res.sendDate = false; // the upstream's Date header is forwarded as is
    const record = this.telemetry.begin(req, res);
    let endpoint: EdgeEndpoint | undefined;
    let route: Route | undefined;
    try {
      endpoint = resolveEndpoint(this.table, req.headers.host);
      record.endpoint = endpoint.url.url;
      if (contentLength(req) > this.options.maxRequestBodyBytes) throw bodyTooLarge(this.options.maxRequestBodyBytes);
      if (!endpoint.cloudPolicy) route = pickRoute(endpoint);
    } catch (err) {
      if (err instanceof RouteQueued) return void this.handleQueued(req, res, endpoint!, expectContinue, record);
      // A refused body is never read: close the connection rather than drain it.
      sendError(res, OnrampError.from(err, ErrorCode.Internal), hasBody(req));
      return;
    }
    this.dispatch(req, res, endpoint, route, expectContinue, record);
  }

  /** No member could take the request yet (a relay is being dialled): waits briefly for one. */
  private async handleQueued(req: IncomingMessage, res: ServerResponse, endpoint: EdgeEndpoint, expectContinue: boolean, record: RequestRecord): Promise<void> {
    let route: Route;
    try {
      route = await routeWhenReady(this.table, endpoint);
    } catch (err) {
      sendError(res, OnrampError.from(err, ErrorCode.Internal), hasBody(req));
      return;
    }
    if (res.destroyed) return route.release();
    this.dispatch(req, res, endpoint, route, expectContinue, record);
  }

  private dispatch(req: IncomingMessage, res: ServerResponse, endpoint: EdgeEndpoint, route: Route | undefined, expectContinue: boolean, record: RequestRecord): void {
    if (this.policies && (endpoint.cloudPolicy || route?.member.policy)) {
      this.policies.handle(req, res, endpoint, route, expectContinue, record);
      return;
    }
    if (expectContinue) res.writeContinue();
    this.forward(req, res, endpoint, route!, shapeOf(req), undefined, record);
  }

  /**
   * Sends the request to the picked member and streams the answer to `res`. An attempt that fails
   * before any response head, while the body is still whole here, goes to another member of the
   * pool (see retry-policy.ts), within the retry budget.
   */
  forward(req: IncomingMessage, res: ServerResponse, endpoint: EdgeEndpoint, first: Route, shape: RequestShape, hooks: ForwardHooks | undefined, record: RequestRecord): void {
    new ForwardExchange(this.parts, req, res, endpoint, first, shape, hooks, record).start(shape.body);
  }
}
