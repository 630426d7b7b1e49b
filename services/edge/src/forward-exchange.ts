import { ErrorCode, OnrampError } from "@onramp/errors";
import type { RequestResult } from "@onramp/balancer";
import { creditedWriter, decodeResponseHead, decodeTrailers, encodeRequestHead, type MuxStream, type RequestHeadFields, type ResponseHeadFields as ResponseHead, type StreamHandler } from "@onramp/mux";
import type { EdgeMetrics, Logger } from "@onramp/telemetry";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Readable, type Writable } from "node:stream";
import { createBrotliCompress, createDeflate, createGzip } from "node:zlib";
import { endStalledExchange, watchBodyIdle } from "./body-idle-timeout.js";
import { pickRoute, type EdgeEndpoint, type Route } from "./dispatch.js";
import { sendError } from "./error-response.js";
import { clientIpOf } from "./forwarded-headers.js";
import { editResponseBody } from "./policy-body.js";
import { contentLength, DEFAULT_MAX_POLICY_BODY_BYTES, hasBody, writeReplacement, type ForwardHooks, type HttpProxyOptions, type RequestShape, type ResponseDecision } from "./request-shape.js";
import type { AttemptTrace, RequestRecord, RequestTelemetry } from "./request-telemetry.js";
import { retryable, type RetryBudget } from "./retry-policy.js";

/** Attempts per request, the first included: two retries ride out a dying member and a stale view of another. */
const MAX_ATTEMPTS = 3;

/** What every exchange of one proxy shares; made once per proxy. */
export interface ForwardParts {
  readonly options: HttpProxyOptions;
  readonly metrics: EdgeMetrics;
  readonly telemetry: RequestTelemetry;
  readonly logger: Logger;
  readonly budget: RetryBudget;
}

/** The request head as it goes to the agent; one per exchange, its member fields set per attempt. */
type OutgoingHead = Pick<RequestHeadFields, "method" | "path" | "headers" | "endpointId" | "clientAddr" | "bindId" | "traceparent" | "body">;

const EMPTY = new Uint8Array(0);

/**
 * One request forwarded to a pool member and its answer streamed to the client: the mux stream's
 * handler, the retry to another member when an attempt fails before any response, the response
 * phase of a policy, and the body in both directions under the stream's credit.
 *
 * A class rather than closures: its methods are shared, so an exchange costs one object and its
 * head (this runs once per request, and per-request garbage is what drives the edge's GC pauses).
 */
export class ForwardExchange implements StreamHandler {
  private readonly head: OutgoingHead;
  private route: Route;
  /** Members already tried; made only when a retry is considered (most requests never need it). */
  private tried: Set<string> | undefined;
  private attempts = 1;
  private inlineBody: Buffer | undefined;
  private responded = false;
  private streamedBody = false;
  private stream: MuxStream | undefined;
  private finished = false;
  private sink: Writable;
  /** Created at the first body chunk, once the sink (the response, or a compressor) is settled. */
  private write: ((chunk: Buffer) => void) | undefined;
  /** Body events held while a policy's response phase runs, replayed in order after it. */
  private deferred: Array<() => void> | undefined;
  private attempt: AttemptTrace | undefined;

  constructor(
    private readonly parts: ForwardParts,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly endpoint: EdgeEndpoint,
    first: Route,
    shape: RequestShape,
    private readonly hooks: ForwardHooks | undefined,
    private readonly record: RequestRecord,
  ) {
    this.route = first;
    this.sink = res;
    this.head = {
      method: shape.method,
      path: shape.path,
      headers: shape.headers,
      endpointId: endpoint.id,
      clientAddr: `${clientIpOf(req)}:${req.socket.remotePort ?? 0}`,
      bindId: "",
      traceparent: "",
      body: EMPTY,
    };
  }

  /** Sends the head (and body) to the first member. */
  start(buffered: Uint8Array | undefined): void {
    const { parts, req, res, record } = this;
    parts.budget.deposit();
    (res as ExchangeOwner)[EXCHANGE] = this;
    res.on("close", responseClosed);
    if (buffered) {
      if (buffered.length <= parts.options.inlineBodyBytes) {
        parts.metrics.bodyBytes.request.inc(buffered.length);
        record.bytesIn = buffered.length;
        this.inlineBody = Buffer.from(buffered.buffer, buffered.byteOffset, buffered.byteLength);
        this.open(true);
        return;
      }
      this.streamedBody = true;
      this.pumpBody(Readable.from(chunksOf(buffered), { objectMode: false }), this.open(false));
      return;
    }
    if (!hasBody(req)) {
      this.open(true);
      return;
    }
    const bodyTimeoutMs = parts.options.bodyTimeoutMs ?? 0;
    watchBodyIdle(req, bodyTimeoutMs, () => endStalledExchange(req, res, this.stream, bodyTimeoutMs));
    const declared = contentLength(req);
    if (declared >= 0 && declared <= parts.options.inlineBodyBytes) {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        if (res.destroyed) return this.finish("error");
        const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
        this.inlineBody = body;
        parts.metrics.bodyBytes.request.inc(body.length);
        record.bytesIn = body.length;
        this.open(true);
      });
      return;
    }
    this.streamedBody = true;
    this.pumpBody(req, this.open(false));
  }

  // The mux stream's handler.

  onHead(payload: Buffer, endStream: boolean): void {
    this.responded = true;
    const response = decodeResponseHead(payload);
    this.attempt?.end(response.status, undefined);
    if (response.body.length > 0) this.parts.metrics.bodyBytes.response.inc(response.body.length);
    this.outcome(response.status >= 500 ? "5xx" : "success");
    const hooks = this.hooks;
    if (!hooks?.response) {
      if (this.writeHead(response.status, response.statusText, response.headers)) this.startBody(response.body, endStream);
      return;
    }
    let decided: ResponseDecision | Promise<ResponseDecision>;
    try {
      decided = hooks.response(response);
    } catch (err) {
      return this.responsePhaseFailed(err);
    }
    // A response phase whose actions all answered at once: nothing to wait for.
    if (!(decided instanceof Promise)) return this.applyDecision(response, endStream, decided);
    // Hold body events while the response phase runs; replay them in order afterwards.
    const queue: Array<() => void> = [];
    this.deferred = queue;
    decided.then(
      (decision) => {
        this.deferred = undefined;
        this.applyDecision(response, endStream, decision);
        for (const event of queue) event();
      },
      (err: unknown) => {
        this.deferred = undefined;
        this.responsePhaseFailed(err);
      },
    );
  }

  private responsePhaseFailed(err: unknown): void {
    this.stream?.reset(ErrorCode.Internal, "traffic policy failed");
    sendError(this.res, OnrampError.from(err, ErrorCode.Internal, "the traffic policy failed on the response"));
  }

  onData(chunk: Buffer): void {
    if (this.deferred) return void this.deferred.push(() => this.onData(chunk));
    if (this.res.destroyed) return;
    this.parts.metrics.bodyBytes.response.inc(chunk.length);
    this.record.bytesOut += chunk.length;
    (this.write ??= creditedWriter(this.stream!, this.sink))(chunk);
  }

  onEnd(trailers: Buffer | undefined): void {
    if (this.deferred) return void this.deferred.push(() => this.onEnd(trailers));
    if (this.res.destroyed) return;
    if (trailers) this.res.addTrailers(pairs(decodeTrailers(trailers)));
    this.sink.end();
  }

  onReset(code: ErrorCode, message: string): void {
    if (this.deferred) return void this.deferred.push(() => this.onReset(code, message));
    if (!this.responded) {
      this.attempt?.end(undefined, code);
      this.outcome(failureOf(code));
    }
    if (this.retry(code, message)) return;
    if (this.parts.options.attemptsHeader && !this.res.headersSent) this.res.setHeader("onramp-attempts", String(this.attempts));
    sendError(this.res, new OnrampError(code, message));
  }

  /** `res` closed: the exchange is over, and a client that left early resets the stream. */
  closed(): void {
    const { res, stream } = this;
    this.finish(res.writableFinished ? res.statusCode : "error");
    if (!res.writableFinished && stream && !stream.isClosed) stream.reset(ErrorCode.ClientClosed, "the client went away");
  }

  private finish(result: number | "error"): void {
    if (this.finished) return;
    this.finished = true;
    this.route.release();
    this.hooks?.settled?.(result);
  }

  private open(endStream: boolean): MuxStream {
    const { head, route } = this;
    this.attempt = this.parts.telemetry.attempt(this.record, route, this.endpoint.url.url);
    head.bindId = route.member.bindId;
    head.traceparent = this.attempt.traceparent;
    head.body = this.inlineBody ?? EMPTY;
    return (this.stream = route.opener.openStream(encodeRequestHead(head), endStream, this));
  }

  /** Sends the request again to another member when that is safe and the budget allows. */
  private retry(code: ErrorCode, message: string): boolean {
    const { parts, endpoint, req, res } = this;
    if (this.responded || this.streamedBody || res.destroyed || !retryable(code, req.method ?? "GET")) return false;
    (this.tried ??= new Set()).add(this.route.member.id);
    if (this.attempts >= MAX_ATTEMPTS) return false;
    let next: Route;
    try {
      next = pickRoute(endpoint, this.tried);
    } catch {
      parts.metrics.retries.inc({ reason: code, result: "no-member" });
      return false;
    }
    if (!parts.budget.take()) {
      next.release();
      parts.metrics.retries.inc({ reason: code, result: "budget" });
      return false;
    }
    const failed = this.route.member;
    parts.logger.info({ endpoint: endpoint.url.url, failed: failed.id, edge: failed.edge, code, message, next: next.member.id, attempt: ++this.attempts }, "retrying on another member");
    parts.metrics.retries.inc({ reason: code, result: "retried" });
    this.route.release();
    this.route = next;
    this.open(true);
    return true;
  }

  private writeHead(status: number, statusText: string, headers: string[]): boolean {
    if (this.parts.options.attemptsHeader) headers = [...headers, "onramp-attempts", String(this.attempts)];
    try {
      this.res.writeHead(status, statusText || undefined, headers);
      return true;
    } catch (err) {
      this.stream?.reset(ErrorCode.UpstreamError, "invalid response head");
      sendError(this.res, OnrampError.from(err, ErrorCode.UpstreamError, "the upstream sent an invalid response head"));
      return false;
    }
  }

  private startBody(body: Uint8Array, endStream: boolean): void {
    this.record.bytesOut += body.length;
    if (endStream) this.sink.end(body.length > 0 ? body : undefined);
    else if (body.length > 0) this.sink.write(body);
    // Node holds a head until the first body bytes; an upstream that answers and then waits
    // (server-sent events, long polls) must not leave the client with nothing.
    else this.res.flushHeaders();
  }

  private applyDecision(response: ResponseHead, endStream: boolean, decision: ResponseDecision): void {
    const { res } = this;
    if (decision.kind === "close") {
      this.stream?.reset(ErrorCode.ClientClosed, "closed by traffic policy");
      res.destroy();
      return;
    }
    if (decision.kind === "replace") {
      this.stream?.reset(ErrorCode.ClientClosed, "response replaced by traffic policy");
      writeReplacement(res, decision);
      return;
    }
    if (decision.bodyEdits && decision.bodyEdits.length > 0 && this.req.method !== "HEAD" && response.status !== 204 && response.status !== 304) {
      this.sink = this.editedBody(response, decision);
      if (response.body.length > 0) this.sink.write(response.body);
      if (endStream) this.sink.end();
      return;
    }
    if (!this.writeHead(decision.status, decision.statusText, decision.headers)) return;
    if (decision.compress) {
      const compressor = compressorFor(decision.compress);
      compressor.pipe(res);
      this.sink = compressor;
    }
    this.startBody(response.body, endStream);
  }

  /** Streams the client's body to the agent, pausing the client while the stream has no credit. */
  private pumpBody(body: Readable, stream: MuxStream): void {
    const { parts, res, record } = this;
    let received = 0;
    // The exchange stays the stream's handler; only the credit callback is added.
    (this as StreamHandler).onWritable = () => body.resume();
    body.on("data", (chunk: Buffer) => {
      if (stream.isClosed) return; // the exchange is over; let Node discard the rest
      received += chunk.length;
      if (received > parts.options.maxRequestBodyBytes) {
        stream.reset(ErrorCode.BodyTooLarge, "request body too large");
        sendError(res, bodyTooLarge(parts.options.maxRequestBodyBytes), true);
        return;
      }
      parts.metrics.bodyBytes.request.inc(chunk.length);
      record.bytesIn = received;
      if (!stream.write(chunk)) body.pause();
    });
    body.on("end", () => stream.end());
  }

  /** Feeds one attempt's result to the pool's outlier detection; logs and counts an ejection. */
  private outcome(result: RequestResult | undefined): void {
    const { endpoint, route, parts } = this;
    if (!result || !endpoint.pooling) return;
    if (!endpoint.pool.report(route.member.id, result, Date.now())) return;
    parts.metrics.ejections.inc({ reason: result });
    const until = endpoint.pool.ejections(Date.now()).find((e) => e.id === route.member.id);
    parts.logger.warn(
      { endpoint: endpoint.url.url, member: route.member.id, edge: route.member.edge, reason: result, ejectedForMs: until ? until.until - Date.now() : undefined, times: until?.times },
      "pool member ejected after consecutive failures; it gets requests again when the time is up",
    );
  }

  /**
   * The sink for a response body a policy edits: collects it, and once edited writes the head
   * with the new length and coding, then the body. Errors answer with an Onramp error instead.
   */
  private editedBody(response: ResponseHead, decision: ResponseDecision & { kind: "write" }): Writable {
    const { res, parts } = this;
    const keep: string[] = [];
    let contentEncoding: string | undefined;
    for (let i = 0; i + 1 < decision.headers.length; i += 2) {
      const name = decision.headers[i]!.toLowerCase();
      // With `compress`, compress-response set Content-Encoding for a body that comes unencoded.
      if (name === "content-encoding") contentEncoding = decision.compress ? undefined : decision.headers[i + 1];
      else if (name !== "content-length" && name !== "transfer-encoding") keep.push(decision.headers[i]!, decision.headers[i + 1]!);
    }
    return editResponseBody({
      limitBytes: parts.options.maxPolicyBodyBytes ?? DEFAULT_MAX_POLICY_BODY_BYTES,
      contentEncoding,
      compress: decision.compress,
      edits: decision.bodyEdits ?? [],
      done: (edited) => {
        if (res.destroyed) return;
        const headers = [...keep, "content-length", String(edited.body.length)];
        if (edited.encoding) headers.push("content-encoding", edited.encoding);
        if (this.writeHead(decision.status, decision.statusText, headers)) res.end(edited.body);
      },
      failed: (error) => {
        const s = this.stream;
        if (s && !s.isClosed) s.reset(ErrorCode.ClientClosed, "response body refused by traffic policy");
        parts.logger.warn({ status: response.status, err: error }, "traffic policy could not edit the response body");
        sendError(res, error);
      },
    });
  }
}

/** The error for a request body over `--max-request-body`. */
export function bodyTooLarge(maxBytes: number): OnrampError {
  return new OnrampError(ErrorCode.BodyTooLarge, `the request body is larger than the edge accepts (${maxBytes} bytes)`);
}

/** Where a response keeps its exchange, so one shared listener (no closure per request) finds it. */
const EXCHANGE = Symbol("onramp.forwardExchange");
type ExchangeOwner = ServerResponse & { [EXCHANGE]?: ForwardExchange };

function responseClosed(this: ServerResponse): void {
  (this as ExchangeOwner)[EXCHANGE]?.closed();
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
