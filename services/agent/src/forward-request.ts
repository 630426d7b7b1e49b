import { ErrorCode, OnrampError } from "@onramp/errors";
import { encodeResponseHead, encodeTrailers, forwardableHeaders, rawHeader, type MuxStream } from "@onramp/mux";
import type { RequestHeadFields as RequestHead } from "@onramp/mux";
import { traceIdOf, type Tracing } from "@onramp/telemetry";
import { Readable } from "node:stream";
import type { Dispatcher } from "undici";
import type { ExchangeBind, ExchangeObserver, ObserveExchange } from "./exchange-observer.js";
import { traceExchange, withTraceparent, type ExchangeTrace } from "./exchange-trace.js";
import { upstreamError, upstreamHeaders, type Upstream } from "./upstream.js";

export interface ForwardOptions {
  upstreamTimeoutMs: number;
  inlineBodyBytes: number;
  /** Spans for each exchange and a traceparent for the upstream; undefined: tracing is off. */
  tracing?: Tracing;
  observe?: ObserveExchange;
}


let exchanges = 0;

/**
 * Replays one request from the edge against the upstream and streams the response back.
 * Backpressure holds both ways; a reset from the edge (client gone) aborts the upstream request.
 */
export function forwardRequest(stream: MuxStream, head: RequestHead, endStream: boolean, upstream: Upstream, options: ForwardOptions, bind: ExchangeBind): void {
  const started = performance.now();
  let headers = upstreamHeaders(upstream, head.headers);
  let trace: ExchangeTrace | undefined;
  if (options.tracing) {
    trace = traceExchange(options.tracing, head, headers, upstream, bind);
    headers = trace.headers;
  } else if (head.traceparent) {
    headers = withTraceparent(headers, head.traceparent);
  }
  const observer: ExchangeObserver | undefined = options.observe?.({
    id: String(++exchanges),
    endpointUrl: bind.url,
    bindId: bind.bindId,
    edge: bind.edge,
    upstream: upstream.url,
    method: head.method,
    path: head.path,
    headers,
    clientAddr: head.clientAddr,
    traceId: trace?.traceId ?? traceIdOf(head.traceparent || rawHeader(head.headers, "traceparent")),
    upgrade: false,
    startedAt: Date.now(),
    inspect: bind.inspect,
  });
  let requestBytes = head.body.length;
  let responseBytes = 0;
  let ended = false;
  /** Closes the exchange's spans and tells the observer, once. */
  const done = (status: number | undefined, error: OnrampError | undefined) => {
    if (ended) return;
    ended = true;
    trace?.end(status, error);
    observer?.end({ status, error, durationMs: performance.now() - started, requestBytes, responseBytes });
  };
  if (head.body.length > 0) observer?.requestBody?.(head.body);

  let controller: Dispatcher.DispatchController | undefined;
  let body: Buffer | Readable | null = null;
  if (!endStream) {
    body = streamedBody(stream, head.body, () => armTimeout(), (chunk) => {
      requestBytes += chunk.length;
      observer?.requestBody?.(chunk);
    });
  } else if (head.body.length > 0) body = Buffer.from(head.body.buffer, head.body.byteOffset, head.body.byteLength);
  stream.handler.onReset = () => {
    const error = new OnrampError(ErrorCode.ClientClosed, "the client went away");
    controller?.abort(error);
    done(responded ? status : undefined, error);
  };
  stream.handler.onWritable = () => controller?.resume();

  let responded = false;
  let timer: NodeJS.Timeout | undefined;
  /**
   * The upstream's time to answer runs from when the whole request is sent, on a timer of our
   * own: undici's headersTimeout rides on a coarse clock (a 300 ms timeout fired after about 1 s).
   */
  const armTimeout = () => {
    if (options.upstreamTimeoutMs <= 0 || stream.isClosed || responded) return;
    timer = setTimeout(() => {
      if (responded || stream.isClosed) return;
      const error = new OnrampError(ErrorCode.UpstreamTimeout, `the upstream ${upstream.url} sent no response within ${options.upstreamTimeoutMs} ms`);
      stream.reset(error.code, error.message);
      controller?.abort(new OnrampError(ErrorCode.UpstreamTimeout, "upstream timeout"));
      done(undefined, error);
    }, options.upstreamTimeoutMs);
  };
  let inline: Buffer[] | undefined;
  let status = 502;
  let statusText = "";
  let responseHeaders: string[] = [];

  upstream.pool.dispatch(
    { origin: upstream.url, method: head.method, path: head.path, headers, body },
    {
      onRequestStart(c) {
        controller = c;
        if (stream.isClosed) c.abort(new OnrampError(ErrorCode.ClientClosed, "the client went away"));
      },
      onResponseStart(c, statusCode, parsed, statusMessage) {
        if (statusCode < 200) return; // informational (100, 103): the edge sends its own 100
        if (stream.isClosed) return c.abort(new OnrampError(ErrorCode.ClientClosed, "the exchange is over"));
        responded = true;
        clearTimeout(timer);
        status = statusCode;
        statusText = statusMessage ?? "";
        responseHeaders = forwardableHeaders(rawPairs(c.rawHeaders));
        observer?.response?.(status, statusText, responseHeaders);
        const declared = Number(parsed["content-length"] ?? -1);
        if (declared >= 0 && declared <= options.inlineBodyBytes) inline = [];
        else stream.sendHead(encodeResponseHead({ status, statusText, headers: responseHeaders }), false);
      },
      onResponseData(c, chunk) {
        responseBytes += chunk.length;
        observer?.responseBody?.(chunk);
        if (inline) inline.push(chunk);
        else if (!stream.write(chunk)) c.pause();
      },
      onResponseEnd(c) {
        done(status, undefined);
        if (stream.isClosed) return;
        const trailers = rawPairs(c.rawTrailers);
        const encodedTrailers = trailers.length > 0 ? encodeTrailers(trailers) : undefined;
        if (inline) {
          const bodyBytes = inline.length === 1 ? inline[0]! : Buffer.concat(inline);
          stream.sendHead(encodeResponseHead({ status, statusText, headers: responseHeaders, body: bodyBytes }), !encodedTrailers);
          if (encodedTrailers) stream.end(encodedTrailers);
        } else {
          stream.end(encodedTrailers);
        }
      },
      onResponseError(_c, err) {
        clearTimeout(timer);
        if (stream.isClosed) return;
        const error = responded
          ? new OnrampError(ErrorCode.UpstreamError, "the upstream connection broke mid-response", { cause: err })
          : upstreamError(err as NodeJS.ErrnoException, upstream.url);
        done(responded ? status : undefined, error);
        stream.reset(error.code, error.message);
      },
    },
  );
  if (endStream) armTimeout();
}

/**
 * The request body as a Readable for undici, fed by the data stream. Credit goes back to the edge
 * only as undici reads, so a slow upstream slows the client instead of filling memory.
 */
function streamedBody(stream: MuxStream, first: Uint8Array, onSent: () => void, onChunk: (chunk: Buffer) => void): Readable {
  let held = 0;
  const body = new Readable({
    highWaterMark: 64 * 1024,
    read() {
      if (held > 0) {
        stream.consumed(held);
        held = 0;
      }
    },
  });
  if (first.length > 0) body.push(Buffer.from(first));
  stream.handler.onData = (chunk) => {
    onChunk(chunk);
    if (body.push(chunk)) stream.consumed(chunk.length);
    else held += chunk.length;
  };
  stream.handler.onEnd = () => {
    body.push(null);
    onSent();
  };
  return body;
}

function rawPairs(raw: Buffer[] | string[] | Record<string, unknown> | null | undefined): string[] {
  if (!raw) return [];
  if (Array.isArray(raw)) return raw.map((v) => (typeof v === "string" ? v : v.toString("latin1")));
  const out: string[] = [];
  for (const [name, value] of Object.entries(raw)) {
    if (Array.isArray(value)) for (const v of value) out.push(name, String(v));
    else if (value !== undefined) out.push(name, String(value));
  }
  return out;
}
