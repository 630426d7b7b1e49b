import { ErrorCode, OnrampError } from "@onramp/errors";
import { creditedWriter, decodeResponseHead, decodeTrailers, encodeRequestHead, type MuxStream } from "@onramp/mux";
import type { ResponseHeadFields as ResponseHead } from "@onramp/mux";
import type { RequestResult } from "@onramp/balancer";
import type { EdgeMetrics, Logger } from "@onramp/telemetry";
import { http2HasBody, isHttp2Request } from "./http2-adapter.js";
import type { AttemptTrace, RequestRecord, RequestTelemetry } from "./request-telemetry.js";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable, type Duplex, type Writable } from "node:stream";
import type { ResponseBodyEdit } from "@onramp/policy";
import { createBrotliCompress, createDeflate, createGzip } from "node:zlib";
import { pickRoute, resolveEndpoint, RouteQueued, routeWhenReady, type EdgeEndpoint, type Route } from "./dispatch.js";
import { sendError } from "./error-response.js";
import { endStalledExchange, watchBodyIdle } from "./body-idle-timeout.js";
import { editResponseBody } from "./policy-body.js";
import { clientIpOf, requestHeadersForAgent } from "./forwarded-headers.js";
import { retryable, RetryBudget } from "./retry-policy.js";
import type { RoutingTable } from "./routing-table.js";

/** Attempts per request, the first included: two retries ride out a dying member and a stale view of another. */
const MAX_ATTEMPTS = 3;

export interface HttpProxyOptions {
  maxRequestBodyBytes: number;
  inlineBodyBytes: number;
  /** Add `Onramp-Attempts` to every proxied response. */
  attemptsHeader?: boolean;
  /** Longest pause between two pieces of a request body, in ms (see body-idle-timeout.ts); 0 or absent: none. */
  bodyTimeoutMs?: number;
  /** Largest body a traffic policy may buffer (request or decoded response), in bytes; DEFAULT_MAX_POLICY_BODY_BYTES when absent. */
  maxPolicyBodyBytes?: number;
}

/** 1 MiB: webhooks, form posts and JSON API bodies fit with room to spare; larger is an upload, not a policy's business. */
export const DEFAULT_MAX_POLICY_BODY_BYTES = 1024 * 1024;

/** The request as it goes to the agent: the client's, or what a traffic policy made of it. */
export interface RequestShape {
  method: string;
  /** Path and query. */
  path: string;
  /** Names and values alternating; hop-by-hop headers already removed, X-Forwarded-* added. */
  headers: string[];
  /** The whole body, when a traffic policy read it (policy-body.ts); absent: streamed from the client. */
  body?: Uint8Array;
}

/** What to do with the upstream's response head, decided by the response phase of a policy. */
export type ResponseDecision =
  | {
      kind: "write";
      status: number;
      statusText: string;
      headers: string[];
      compress: "gzip" | "br" | "deflate" | undefined;
      /** Edits of the whole body (response-body-find-replace): buffered, decoded, edited, re-encoded. */
      bodyEdits?: readonly ResponseBodyEdit[] | undefined;
    }
  | { kind: "replace"; status: number; headers: string[]; body: string; code: ErrorCode | undefined }
  | { kind: "close" };

export interface ForwardHooks {
  /** Runs on the response head before anything is written to the client. */
  response?: (head: ResponseHead) => Promise<ResponseDecision>;
  /** Called once with the response status, or "error" when none came back. */
  settled?: (result: number | "error") => void;
}

/** Takes requests whose endpoint or member has a traffic policy. */
export interface PolicyHandler {
  handle(req: IncomingMessage, res: ServerResponse, endpoint: EdgeEndpoint, route: Route | undefined, expectContinue: boolean, record: RequestRecord): void;
  handleUpgrade(req: IncomingMessage, socket: Duplex, early: Buffer, endpoint: EdgeEndpoint, route: Route | undefined): void;
}

/**
 * Proxies one HTTP request to an agent over a data stream: head (with a small body inline),
 * body chunks under the stream's credit window, response head, body and trailers back.
 * Backpressure holds both ways: a slow client pauses the agent, a slow agent pauses the client.
 */
export class HttpProxy {
  policies: PolicyHandler | undefined;

  private readonly budget = new RetryBudget();
  private readonly metrics: EdgeMetrics;

  constructor(
    private readonly table: RoutingTable,
    readonly options: HttpProxyOptions,
    readonly telemetry: RequestTelemetry,
    private readonly logger: Logger,
  ) {
    this.metrics = telemetry.metrics;
  }

  handle(req: IncomingMessage, res: ServerResponse, expectContinue: boolean): void {
    res.sendDate = false; // the upstream's Date header is forwarded as is
    const record = this.telemetry.begin(req, res);
    let endpoint: EdgeEndpoint | undefined;
    let route: Route | undefined;
    try {
      endpoint = resolveEndpoint(this.table, req.headers.host);
      record.endpoint = endpoint.url.url;
      if (contentLength(req) > this.options.maxRequestBodyBytes) throw this.tooLarge();
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
    const declared = contentLength(req);
    const { body: buffered, ...requestHead } = shape;
    const head = {
      ...requestHead,
      endpointId: endpoint.id,
      clientAddr: `${clientIpOf(req)}:${req.socket.remotePort ?? 0}`,
    };
    let route = first;
    /** Members already tried; made only when a retry is considered (most requests never need it). */
    let tried: Set<string> | undefined;
    let attempts = 1;
    let inlineBody: Buffer | undefined;
    let responded = false;
    let streamedBody = false;
    this.budget.deposit();
    let stream: MuxStream | undefined;
    let finished = false;
    let sink: Writable = res;
    /** Created at the first body chunk, once the sink (the response, or a compressor) is settled. */
    let write: ((chunk: Buffer) => void) | undefined;
    let deferred: Array<() => void> | undefined;
    let attempt: AttemptTrace | undefined;

    const finish = (result: number | "error") => {
      if (finished) return;
      finished = true;
      route.release();
      hooks?.settled?.(result);
    };
    const open = (endStream: boolean): MuxStream => {
      attempt = this.telemetry.attempt(record, route, endpoint.url.url);
      const traceparent = attempt.traceparent;
      const bytes = encodeRequestHead(inlineBody ? { ...head, bindId: route.member.bindId, traceparent, body: inlineBody } : { ...head, bindId: route.member.bindId, traceparent });
      return (stream = route.opener.openStream(bytes, endStream, handler));
    };
    /** Sends the request again to another member when that is safe and the budget allows. */
    const retry = (code: ErrorCode, message: string): boolean => {
      if (responded || streamedBody || res.destroyed || !retryable(code, req.method ?? "GET")) return false;
      (tried ??= new Set()).add(route.member.id);
      if (attempts >= MAX_ATTEMPTS) return false;
      let next: Route;
      try {
        next = pickRoute(endpoint, tried);
      } catch {
        this.metrics.retries.inc({ reason: code, result: "no-member" });
        return false;
      }
      if (!this.budget.take()) {
        next.release();
        this.metrics.retries.inc({ reason: code, result: "budget" });
        return false;
      }
      this.logger.info({ endpoint: endpoint.url.url, failed: route.member.id, edge: route.member.edge, code, message, next: next.member.id, attempt: ++attempts }, "retrying on another member");
      this.metrics.retries.inc({ reason: code, result: "retried" });
      route.release();
      route = next;
      open(true);
      return true;
    };
    res.once("close", () => {
      finish(res.writableFinished ? res.statusCode : "error");
      if (!res.writableFinished && stream && !stream.isClosed) stream.reset(ErrorCode.ClientClosed, "the client went away");
    });

    const writeHead = (status: number, statusText: string, headers: string[]): boolean => {
      if (this.options.attemptsHeader) headers = [...headers, "onramp-attempts", String(attempts)];
      try {
        res.writeHead(status, statusText || undefined, headers);
        return true;
      } catch (err) {
        stream?.reset(ErrorCode.UpstreamError, "invalid response head");
        sendError(res, OnrampError.from(err, ErrorCode.UpstreamError, "the upstream sent an invalid response head"));
        return false;
      }
    };
    const startBody = (body: Uint8Array, endStream: boolean) => {
      record.bytesOut += body.length;
      if (endStream) sink.end(body.length > 0 ? body : undefined);
      else if (body.length > 0) sink.write(body);
      // Node holds a head until the first body bytes; an upstream that answers and then waits
      // (server-sent events, long polls) must not leave the client with nothing.
      else res.flushHeaders();
    };
    const applyDecision = (response: ResponseHead, endStream: boolean, decision: ResponseDecision) => {
      if (decision.kind === "close") {
        stream?.reset(ErrorCode.ClientClosed, "closed by traffic policy");
        res.destroy();
        return;
      }
      if (decision.kind === "replace") {
        stream?.reset(ErrorCode.ClientClosed, "response replaced by traffic policy");
        writeReplacement(res, decision);
        return;
      }
      if (decision.bodyEdits && decision.bodyEdits.length > 0 && req.method !== "HEAD" && response.status !== 204 && response.status !== 304) {
        sink = this.editedBody(res, response, decision, () => stream, writeHead);
        if (response.body.length > 0) sink.write(response.body);
        if (endStream) sink.end();
        return;
      }
      if (!writeHead(decision.status, decision.statusText, decision.headers)) return;
      if (decision.compress) {
        const compressor = compressorFor(decision.compress);
        compressor.pipe(res);
        sink = compressor;
      }
      startBody(response.body, endStream);
    };

    const handler: MuxStream["handler"] = {
      onHead: (payload, endStream) => {
        responded = true;
        const response = decodeResponseHead(payload);
        attempt?.end(response.status, undefined);
        if (response.body.length > 0) this.metrics.bodyBytes.response.inc(response.body.length);
        this.outcome(endpoint, route, response.status >= 500 ? "5xx" : "success");
        if (!hooks?.response) {
          if (writeHead(response.status, response.statusText, response.headers)) startBody(response.body, endStream);
          return;
        }
        // Hold body events while the response phase runs; replay them in order afterwards.
        const queue: Array<() => void> = [];
        deferred = queue;
        hooks.response(response).then(
          (decision) => {
            deferred = undefined;
            applyDecision(response, endStream, decision);
            for (const event of queue) event();
          },
          (err: unknown) => {
            deferred = undefined;
            stream?.reset(ErrorCode.Internal, "traffic policy failed");
            sendError(res, OnrampError.from(err, ErrorCode.Internal, "the traffic policy failed on the response"));
          },
        );
      },
      onData: (chunk) => {
        if (deferred) return void deferred.push(() => handler.onData!(chunk));
        if (res.destroyed) return;
        this.metrics.bodyBytes.response.inc(chunk.length);
        record.bytesOut += chunk.length;
        (write ??= creditedWriter(stream!, sink))(chunk);
      },
      onEnd: (trailers) => {
        if (deferred) return void deferred.push(() => handler.onEnd!(trailers));
        if (res.destroyed) return;
        if (trailers) res.addTrailers(pairs(decodeTrailers(trailers)));
        sink.end();
      },
      onReset: (code, message) => {
        if (deferred) return void deferred.push(() => handler.onReset!(code, message));
        if (!responded) {
          attempt?.end(undefined, code);
          this.outcome(endpoint, route, failureOf(code));
        }
        if (retry(code, message)) return;
        if (this.options.attemptsHeader && !res.headersSent) res.setHeader("onramp-attempts", String(attempts));
        sendError(res, new OnrampError(code, message));
      },
    };

    if (buffered) {
      if (buffered.length <= this.options.inlineBodyBytes) {
        this.metrics.bodyBytes.request.inc(buffered.length);
        record.bytesIn = buffered.length;
        inlineBody = Buffer.from(buffered.buffer, buffered.byteOffset, buffered.byteLength);
        open(true);
        return;
      }
      streamedBody = true;
      this.pumpBody(Readable.from(chunksOf(buffered), { objectMode: false }), res, open(false), record);
      return;
    }
    if (!hasBody(req)) {
      open(true);
      return;
    }
    const bodyTimeoutMs = this.options.bodyTimeoutMs ?? 0;
    watchBodyIdle(req, bodyTimeoutMs, () => endStalledExchange(req, res, stream, bodyTimeoutMs));
    if (declared >= 0 && declared <= this.options.inlineBodyBytes) {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        if (res.destroyed) return finish("error");
        inlineBody = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
        this.metrics.bodyBytes.request.inc(inlineBody.length);
        record.bytesIn = inlineBody.length;
        open(true);
      });
      return;
    }
    streamedBody = true;
    this.pumpBody(req, res, open(false), record);
  }

  /** Streams the client's body to the agent, pausing the client while the stream has no credit. */
  private pumpBody(req: Readable, res: ServerResponse, stream: MuxStream, record: RequestRecord): void {
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
      this.metrics.bodyBytes.request.inc(chunk.length);
      record.bytesIn = received;
      if (!stream.write(chunk)) req.pause();
    });
    req.on("end", () => stream.end());
  }

  /** Feeds one attempt's result to the pool's outlier detection; logs and counts an ejection. */
  private outcome(endpoint: EdgeEndpoint, route: Route, result: RequestResult | undefined): void {
    if (!result || !endpoint.pooling) return;
    if (!endpoint.pool.report(route.member.id, result, Date.now())) return;
    this.metrics.ejections.inc({ reason: result });
    const until = endpoint.pool.ejections(Date.now()).find((e) => e.id === route.member.id);
    this.logger.warn(
      { endpoint: endpoint.url.url, member: route.member.id, edge: route.member.edge, reason: result, ejectedForMs: until ? until.until - Date.now() : undefined, times: until?.times },
      "pool member ejected after consecutive failures; it gets requests again when the time is up",
    );
  }

  /**
   * The sink for a response body a policy edits: collects it, and once edited writes the head
   * with the new length and coding, then the body. Errors answer with an Onramp error instead.
   */
  private editedBody(
    res: ServerResponse,
    response: ResponseHead,
    decision: ResponseDecision & { kind: "write" },
    stream: () => MuxStream | undefined,
    writeHead: (status: number, statusText: string, headers: string[]) => boolean,
  ): Writable {
    const keep: string[] = [];
    let contentEncoding: string | undefined;
    for (let i = 0; i + 1 < decision.headers.length; i += 2) {
      const name = decision.headers[i]!.toLowerCase();
      // With `compress`, compress-response set Content-Encoding for a body that comes unencoded.
      if (name === "content-encoding") contentEncoding = decision.compress ? undefined : decision.headers[i + 1];
      else if (name !== "content-length" && name !== "transfer-encoding") keep.push(decision.headers[i]!, decision.headers[i + 1]!);
    }
    return editResponseBody({
      limitBytes: this.options.maxPolicyBodyBytes ?? DEFAULT_MAX_POLICY_BODY_BYTES,
      contentEncoding,
      compress: decision.compress,
      edits: decision.bodyEdits ?? [],
      done: (edited) => {
        if (res.destroyed) return;
        const headers = [...keep, "content-length", String(edited.body.length)];
        if (edited.encoding) headers.push("content-encoding", edited.encoding);
        if (writeHead(decision.status, decision.statusText, headers)) res.end(edited.body);
      },
      failed: (error) => {
        const s = stream();
        if (s && !s.isClosed) s.reset(ErrorCode.ClientClosed, "response body refused by traffic policy");
        this.logger.warn({ status: response.status, err: error }, "traffic policy could not edit the response body");
        sendError(res, error);
      },
    });
  }

  private tooLarge(): OnrampError {
    return new OnrampError(ErrorCode.BodyTooLarge, `the request body is larger than the edge accepts (${this.options.maxRequestBodyBytes} bytes)`);
  }

}

/** How a failed attempt counts for outlier detection; undefined when it says nothing about the member. */
function failureOf(code: ErrorCode): RequestResult | undefined {
  switch (code) {
    case ErrorCode.UpstreamTimeout:
      return "timeout";
    case ErrorCode.AgentDisconnected:
    case ErrorCode.UpstreamRefused:
    case ErrorCode.UpstreamError:
    case ErrorCode.ProtocolError:
      return "reset";
    default:
      // The client went away, the edge refused the body, the relay or the member's edge failed:
      // not this member's fault.
      return undefined;
  }
}

/** The client's request as the agent should see it, before any policy; upgrades keep Connection/Upgrade. */
export function shapeOf(req: IncomingMessage, keepUpgrade = false): RequestShape {
  return { method: req.method ?? "GET", path: req.url ?? "/", headers: requestHeadersForAgent(req, clientIpOf(req), keepUpgrade) };
}

/** Declared Content-Length, -1 when absent (chunked or none). */
export function contentLength(req: IncomingMessage): number {
  const value = req.headers["content-length"];
  return value === undefined ? -1 : Number(value);
}

/**
 * Whether the request has a body to read or refuse. HTTP/2 has no Transfer-Encoding and
 * Content-Length is optional: there, a body is any request whose HEADERS frame did not end the stream.
 */
export function hasBody(req: IncomingMessage): boolean {
  if (isHttp2Request(req)) return http2HasBody(req);
  return req.headers["transfer-encoding"] !== undefined || contentLength(req) > 0;
}

/** Writes a response a policy generated in place of the upstream's. */
export function writeReplacement(res: ServerResponse, r: { status: number; headers: string[]; body: string; code: ErrorCode | undefined }, closeConnection = false): void {
  if (res.headersSent) return void res.destroy();
  for (let i = 0; i + 1 < r.headers.length; i += 2) res.appendHeader(r.headers[i]!, r.headers[i + 1]!);
  if (r.code) res.setHeader("onramp-error-code", `ERR_ONRAMP_${r.code}`);
  res.setHeader("content-length", Buffer.byteLength(r.body));
  if (closeConnection) res.setHeader("connection", "close");
  res.writeHead(r.status);
  res.end(r.body);
}

function compressorFor(encoding: "gzip" | "br" | "deflate"): Writable & NodeJS.ReadableStream {
  return encoding === "gzip" ? createGzip() : encoding === "br" ? createBrotliCompress() : createDeflate();
}

/** A buffered body in 64 KiB pieces, so it travels under the stream's credit like a client's. */
function* chunksOf(body: Uint8Array): Generator<Buffer> {
  for (let i = 0; i < body.length; i += 64 * 1024) yield Buffer.from(body.buffer, body.byteOffset + i, Math.min(64 * 1024, body.length - i));
}

function pairs(flat: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
  return out;
}
