import { ErrorCode, OnrampError } from "@onramp/errors";
import { encodeResponseHead, encodeTrailers, forwardableHeaders, type MuxStream, type StreamHandler } from "@onramp/mux";
import type { RequestHeadFields as RequestHead } from "@onramp/mux";
import type { Tracing } from "@onramp/telemetry";
import { Readable } from "node:stream";
import type { IncomingHttpHeaders } from "node:http";
import type { Dispatcher } from "undici";
import type { ExchangeBind, ExchangeObserver, ObserveExchange } from "./exchange-observer.js";
import { DeadlineList, type DeadlineEntry } from "./deadline-list.js";
import { traceExchange, withTraceparent, type ExchangeTrace } from "./exchange-trace.js";
import { upstreamError, upstreamHeaders, type Upstream } from "./upstream.js";

export interface ForwardOptions {
  upstreamTimeoutMs: number;
  inlineBodyBytes: number;
  /** Spans for each exchange and a traceparent for the upstream; undefined: tracing is off. */
  tracing?: Tracing;
  observe?: ObserveExchange;
}


/**
 * Replays one request from the edge against the upstream and streams the response back.
 * Backpressure holds both ways; a reset from the edge (client gone) aborts the upstream request.
 */
export function forwardRequest(stream: MuxStream, head: RequestHead, endStream: boolean, upstream: Upstream, options: ForwardOptions, bind: ExchangeBind): void {
  new UpstreamExchange(stream, head, endStream, upstream, options, bind).start();
}

/**
 * One request's exchange with the upstream: the mux stream's handler on one side, undici's
 * dispatch handler on the other. A class rather than closures: its methods are shared, so an
 * exchange costs one object (this runs once per request, where garbage turns into GC pauses).
 */
class UpstreamExchange implements Dispatcher.DispatchHandler, DeadlineEntry {
  private readonly started = performance.now();
  private readonly headers: string[];
  private readonly trace: ExchangeTrace | undefined;
  private readonly observer: ExchangeObserver | undefined;
  private requestBytes: number;
  private responseBytes = 0;
  private ended = false;
  private controller: Dispatcher.DispatchController | undefined;
  private responded = false;
  deadline = 0;
  previousDeadline: DeadlineEntry | undefined;
  nextDeadline: DeadlineEntry | undefined;
  deadlineArmed = false;
  private inline: Buffer[] | undefined;
  private status = 502;
  private statusText = "";
  private responseHeaders: string[] = [];
  /** Request body bytes undici has not read yet; credit goes back to the edge as it reads. */
  private body: Readable | undefined;
  private held = 0;

  constructor(
    private readonly stream: MuxStream,
    private readonly head: RequestHead,
    private readonly endStream: boolean,
    private readonly upstream: Upstream,
    private readonly options: ForwardOptions,
    bind: ExchangeBind,
  ) {
    let headers = upstreamHeaders(upstream, head.headers);
    if (options.tracing) {
      this.trace = traceExchange(options.tracing, head, headers, upstream, bind);
      headers = this.trace.headers;
    } else if (head.traceparent) {
      headers = withTraceparent(headers, head.traceparent);
    }
    this.headers = headers;
    this.observer = options.observe?.({
      endpointUrl: bind.url,
      bindId: bind.bindId,
      edge: bind.edge,
      upstream: upstream.url,
      method: head.method,
      path: head.path,
      headers,
      clientAddr: head.clientAddr,
      upgrade: false,
      startedAt: Date.now(),
      inspect: bind.inspect,
    });
    this.requestBytes = head.body.length;
  }

  start(): void {
    const { head, stream } = this;
    if (head.body.length > 0) this.observer?.requestBody?.(head.body);
    let body: Buffer | Readable | null = null;
    if (!this.endStream) body = this.streamedBody();
    else if (head.body.length > 0) body = Buffer.from(head.body.buffer, head.body.byteOffset, head.body.byteLength);
    stream.handler = new StreamSide(this);
    this.upstream.pool.dispatch({ origin: this.upstream.url, method: head.method, path: head.path, headers: this.headers, body }, this);
    if (this.endStream) this.armTimeout();
  }

  // The mux stream's side (through StreamSide: undici would take onData for its legacy handler API).

  requestData(chunk: Buffer): void {
    if (!this.body) return; // the head ended the request: nothing more was announced
    this.requestBytes += chunk.length;
    this.observer?.requestBody?.(chunk);
    if (this.body.push(chunk)) this.stream.consumed(chunk.length);
    else this.held += chunk.length;
  }

  requestEnd(): void {
    if (!this.body) return;
    this.body.push(null);
    this.armTimeout();
  }

  clientGone(): void {
    const error = new OnrampError(ErrorCode.ClientClosed, "the client went away");
    this.controller?.abort(error);
    this.done(this.responded ? this.status : undefined, error);
  }

  writable(): void {
    this.controller?.resume();
  }

  // undici's side.

  onRequestStart(c: Dispatcher.DispatchController): void {
    this.controller = c;
    if (this.stream.isClosed) c.abort(new OnrampError(ErrorCode.ClientClosed, "the client went away"));
  }

  onResponseStart(c: Dispatcher.DispatchController, statusCode: number, parsed: IncomingHttpHeaders, statusMessage?: string): void {
    if (statusCode < 200) return; // informational (100, 103): the edge sends its own 100
    if (this.stream.isClosed) return c.abort(new OnrampError(ErrorCode.ClientClosed, "the exchange is over"));
    this.responded = true;
    deadlinesOf(this.options.upstreamTimeoutMs).remove(this);
    this.status = statusCode;
    this.statusText = statusMessage ?? "";
    this.responseHeaders = forwardableHeaders(rawPairs((c as RawHeaders).rawHeaders));
    this.observer?.response?.(this.status, this.statusText, this.responseHeaders);
    const declared = Number(parsed["content-length"] ?? -1);
    if (declared >= 0 && declared <= this.options.inlineBodyBytes) this.inline = [];
    else this.stream.sendHead(encodeResponseHead({ status: this.status, statusText: this.statusText, headers: this.responseHeaders }), false);
  }

  onResponseData(c: Dispatcher.DispatchController, chunk: Buffer): void {
    this.responseBytes += chunk.length;
    this.observer?.responseBody?.(chunk);
    if (this.inline) this.inline.push(chunk);
    else if (!this.stream.write(chunk)) c.pause();
  }

  onResponseEnd(c: Dispatcher.DispatchController): void {
    const { stream, inline } = this;
    this.done(this.status, undefined);
    if (stream.isClosed) return;
    const trailers = rawPairs((c as RawHeaders).rawTrailers);
    const encodedTrailers = trailers.length > 0 ? encodeTrailers(trailers) : undefined;
    if (inline) {
      const bodyBytes = inline.length === 1 ? inline[0]! : Buffer.concat(inline);
      stream.sendHead(encodeResponseHead({ status: this.status, statusText: this.statusText, headers: this.responseHeaders, body: bodyBytes }), !encodedTrailers);
      if (encodedTrailers) stream.end(encodedTrailers);
    } else {
      stream.end(encodedTrailers);
    }
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    deadlinesOf(this.options.upstreamTimeoutMs).remove(this);
    if (this.stream.isClosed) return;
    const error = this.responded
      ? new OnrampError(ErrorCode.UpstreamError, "the upstream connection broke mid-response", { cause: err })
      : upstreamError(err as NodeJS.ErrnoException, this.upstream.url);
    this.done(this.responded ? this.status : undefined, error);
    this.stream.reset(error.code, error.message);
  }

  /**
   * The upstream's time to answer runs from when the whole request is sent, on a timer of our
   * own: undici's headersTimeout rides on a coarse clock (a 300 ms timeout fired after about 1 s).
   */
  private armTimeout(): void {
    if (this.options.upstreamTimeoutMs <= 0 || this.stream.isClosed || this.responded) return;
    deadlinesOf(this.options.upstreamTimeoutMs).add(this);
  }

  expired(): void {
    if (this.responded || this.stream.isClosed) return;
    const error = new OnrampError(ErrorCode.UpstreamTimeout, `the upstream ${this.upstream.url} sent no response within ${this.options.upstreamTimeoutMs} ms`);
    this.stream.reset(error.code, error.message);
    this.controller?.abort(new OnrampError(ErrorCode.UpstreamTimeout, "upstream timeout"));
    this.done(undefined, error);
  }

  /** Closes the exchange's spans and tells the observer, once. */
  private done(status: number | undefined, error: OnrampError | undefined): void {
    if (this.deadlineArmed) deadlinesOf(this.options.upstreamTimeoutMs).remove(this);
    if (this.ended) return;
    this.ended = true;
    this.trace?.end(status, error);
    this.observer?.end({ status, error, durationMs: performance.now() - this.started, requestBytes: this.requestBytes, responseBytes: this.responseBytes });
  }

  /**
   * The request body as a Readable for undici, fed by the data stream (onData, onEnd). Credit
   * goes back to the edge only as undici reads, so a slow upstream slows the client instead of
   * filling memory.
   */
  private streamedBody(): Readable {
    const exchange = this;
    this.body = new Readable({
      highWaterMark: 64 * 1024,
      read() {
        if (exchange.held > 0) {
          exchange.stream.consumed(exchange.held);
          exchange.held = 0;
        }
      },
    });
    if (this.head.body.length > 0) this.body.push(Buffer.from(this.head.body));
    return this.body;
  }
}

/** The exchange as the mux stream's handler. */
class StreamSide implements StreamHandler {
  constructor(private readonly exchange: UpstreamExchange) {}

  onData(chunk: Buffer): void {
    this.exchange.requestData(chunk);
  }

  onEnd(): void {
    this.exchange.requestEnd();
  }

  onReset(): void {
    this.exchange.clientGone();
  }

  onWritable(): void {
    this.exchange.writable();
  }
}

/** The upstream timeouts of every exchange, one list per timeout length (agents have one). */
const deadlineLists = new Map<number, DeadlineList>();

function deadlinesOf(ms: number): DeadlineList {
  let list = deadlineLists.get(ms);
  if (!list) {
    list = new DeadlineList(ms);
    deadlineLists.set(ms, list);
  }
  return list;
}

/** The raw header lists undici's controller carries, beside its typed API. */
interface RawHeaders {
  rawHeaders?: Buffer[] | string[] | Record<string, unknown> | null;
  rawTrailers?: Buffer[] | string[] | Record<string, unknown> | null;
}

/** Buffer's own latin1 method, which `toString("latin1")` calls after checking its arguments (per header, per response). */
interface Latin1Buffer extends Buffer {
  latin1Slice(start: number, end: number): string;
}

const NO_PAIRS: readonly string[] = [];

function rawPairs(raw: Buffer[] | string[] | Record<string, unknown> | null | undefined): readonly string[] {
  if (!raw || (Array.isArray(raw) && raw.length === 0)) return NO_PAIRS;
  if (Array.isArray(raw)) {
    const out = new Array<string>(raw.length);
    for (let i = 0; i < raw.length; i++) {
      const v = raw[i]!;
      out[i] = typeof v === "string" ? v : (v as Latin1Buffer).latin1Slice(0, v.length);
    }
    return out;
  }
  const out: string[] = [];
  for (const [name, value] of Object.entries(raw)) {
    if (Array.isArray(value)) for (const v of value) out.push(name, String(v));
    else if (value !== undefined) out.push(name, String(value));
  }
  return out;
}
