import { ErrorCode, OnrampError } from "@onramp/errors";
import { decodeResponseHead, decodeTrailers, encodeRequestHead, type MuxStream } from "@onramp/mux";
import type { EdgeMetrics } from "@onramp/telemetry";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AgentSession } from "./agent-session.js";
import { routeRequest, type Route } from "./dispatch.js";
import { sendError } from "./error-response.js";
import { clientIpOf, requestHeadersForAgent } from "./forwarded-headers.js";
import type { RoutingTable } from "./routing-table.js";

export interface HttpProxyOptions {
  maxRequestBodyBytes: number;
  inlineBodyBytes: number;
}

/**
 * Proxies one HTTP request to an agent over a data stream: head (with a small body inline),
 * body chunks under the stream's credit window, response head, body and trailers back.
 * Backpressure holds both ways: a slow client pauses the agent, a slow agent pauses the client.
 */
export class HttpProxy {
  constructor(
    private readonly table: RoutingTable<AgentSession>,
    private readonly options: HttpProxyOptions,
    private readonly metrics: EdgeMetrics,
  ) {}

  handle(req: IncomingMessage, res: ServerResponse, expectContinue: boolean): void {
    const started = performance.now();
    res.sendDate = false; // the upstream's Date header is forwarded as is
    res.once("finish", () => this.record(res, started));
    let route: Route;
    try {
      const declared = contentLength(req);
      if (declared > this.options.maxRequestBodyBytes) throw this.tooLarge();
      route = routeRequest(this.table, req.headers.host);
    } catch (err) {
      // A refused body is never read: close the connection rather than drain it.
      sendError(res, OnrampError.from(err, ErrorCode.Internal), req.readableLength > 0 || hasBody(req));
      return;
    }
    if (expectContinue) res.writeContinue();
    this.forward(req, res, route);
  }

  private forward(req: IncomingMessage, res: ServerResponse, route: Route): void {
    const declared = contentLength(req);
    const bodyExpected = hasBody(req);
    const headers = requestHeadersForAgent(req, clientIpOf(req), false);
    const head = {
      method: req.method ?? "GET",
      path: req.url ?? "/",
      headers,
      endpointId: route.endpoint.id,
      bindId: route.member.bindId,
      clientAddr: `${clientIpOf(req)}:${req.socket.remotePort ?? 0}`,
    };
    let stream: MuxStream | undefined;
    let finished = false;
    let pendingCredit = 0;
    let waitingDrain = false;

    const finish = () => {
      if (finished) return;
      finished = true;
      route.release();
    };
    res.once("close", () => {
      finish();
      if (!res.writableFinished && stream && !stream.isClosed) stream.reset(ErrorCode.ClientClosed, "the client went away");
    });
    res.on("drain", () => {
      waitingDrain = false;
      if (pendingCredit > 0 && stream) {
        stream.consumed(pendingCredit);
        pendingCredit = 0;
      }
    });

    const handler: MuxStream["handler"] = {
      onHead: (payload, endStream) => {
        const response = decodeResponseHead(payload);
        try {
          res.writeHead(response.status, response.statusText || undefined, response.headers);
        } catch (err) {
          stream?.reset(ErrorCode.UpstreamError, "invalid response head");
          sendError(res, OnrampError.from(err, ErrorCode.UpstreamError, "the upstream sent an invalid response head"));
          return;
        }
        if (endStream) res.end(response.body.length > 0 ? response.body : undefined);
        else if (response.body.length > 0) res.write(response.body);
      },
      onData: (chunk) => {
        this.metrics.bytes.inc({ direction: "response" }, chunk.length);
        if (res.write(chunk) && !waitingDrain) stream!.consumed(chunk.length);
        else {
          waitingDrain = true;
          pendingCredit += chunk.length;
        }
      },
      onEnd: (trailers) => {
        if (trailers) res.addTrailers(pairs(decodeTrailers(trailers)));
        res.end();
      },
      onReset: (code, message) => {
        sendError(res, new OnrampError(code, message));
      },
    };

    if (!bodyExpected) {
      stream = route.connection.openStream(encodeRequestHead(head), true, handler);
      return;
    }
    if (declared >= 0 && declared <= this.options.inlineBodyBytes) {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        if (res.destroyed) return finish();
        const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
        this.metrics.bytes.inc({ direction: "request" }, body.length);
        stream = route.connection.openStream(encodeRequestHead({ ...head, body }), true, handler);
      });
      return;
    }
    stream = route.connection.openStream(encodeRequestHead(head), false, handler);
    this.pumpBody(req, res, stream);
  }

  /** Streams the client's body to the agent, pausing the client while the stream has no credit. */
  private pumpBody(req: IncomingMessage, res: ServerResponse, stream: MuxStream): void {
    let received = 0;
    stream.handler.onWritable = () => req.resume();
    req.on("data", (chunk: Buffer) => {
      if (stream.isClosed) return; // the exchange is over; let Node discard the rest
      received += chunk.length;
      if (received > this.options.maxRequestBodyBytes) {
        stream.reset(ErrorCode.BodyTooLarge, "request body too large");
        sendError(res, this.tooLarge(), true);
        return;
      }
      this.metrics.bytes.inc({ direction: "request" }, chunk.length);
      if (!stream.write(chunk)) req.pause();
    });
    req.on("end", () => stream.end());
  }

  private tooLarge(): OnrampError {
    return new OnrampError(ErrorCode.BodyTooLarge, `the request body is larger than the edge accepts (${this.options.maxRequestBodyBytes} bytes)`);
  }

  private record(res: ServerResponse, started: number): void {
    const errorCode = res.getHeader("onramp-error-code");
    this.metrics.requests.inc({ code: res.statusCode, error_code: typeof errorCode === "string" ? errorCode : "" });
    this.metrics.requestDuration.observe((performance.now() - started) / 1000);
  }
}

/** Declared Content-Length, -1 when absent (chunked or none). */
function contentLength(req: IncomingMessage): number {
  const value = req.headers["content-length"];
  return value === undefined ? -1 : Number(value);
}

function hasBody(req: IncomingMessage): boolean {
  return req.headers["transfer-encoding"] !== undefined || contentLength(req) > 0;
}

function pairs(flat: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}
