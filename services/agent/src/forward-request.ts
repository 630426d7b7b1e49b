import { ErrorCode, OnrampError } from "@onramp/errors";
import { encodeResponseHead, encodeTrailers, forwardableHeaders, type MuxStream } from "@onramp/mux";
import type { RequestHeadFields as RequestHead } from "@onramp/mux";
import { Readable } from "node:stream";
import type { Dispatcher } from "undici";
import { upstreamError, upstreamHeaders, type Upstream } from "./upstream.js";

export interface ForwardOptions {
  upstreamTimeoutMs: number;
  inlineBodyBytes: number;
}

/**
 * Replays one request from the edge against the upstream and streams the response back.
 * Backpressure holds both ways; a reset from the edge (client gone) aborts the upstream request.
 */
export function forwardRequest(stream: MuxStream, head: RequestHead, endStream: boolean, upstream: Upstream, options: ForwardOptions): void {
  let controller: Dispatcher.DispatchController | undefined;
  let body: Buffer | Readable | null = null;
  if (!endStream) body = streamedBody(stream, head.body, () => armTimeout());
  else if (head.body.length > 0) body = Buffer.from(head.body.buffer, head.body.byteOffset, head.body.byteLength);
  stream.handler.onReset = () => controller?.abort(new OnrampError(ErrorCode.ClientClosed, "the client went away"));
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
      stream.reset(ErrorCode.UpstreamTimeout, `the upstream ${upstream.url} sent no response within ${options.upstreamTimeoutMs} ms`);
      controller?.abort(new OnrampError(ErrorCode.UpstreamTimeout, "upstream timeout"));
    }, options.upstreamTimeoutMs);
  };
  let inline: Buffer[] | undefined;
  let status = 502;
  let statusText = "";
  let headers: string[] = [];

  upstream.pool.dispatch(
    { origin: upstream.url, method: head.method, path: head.path, headers: upstreamHeaders(upstream, head.headers), body },
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
        headers = forwardableHeaders(rawPairs(c.rawHeaders));
        const declared = Number(parsed["content-length"] ?? -1);
        if (declared >= 0 && declared <= options.inlineBodyBytes) inline = [];
        else stream.sendHead(encodeResponseHead({ status, statusText, headers }), false);
      },
      onResponseData(c, chunk) {
        if (inline) inline.push(chunk);
        else if (!stream.write(chunk)) c.pause();
      },
      onResponseEnd(c) {
        if (stream.isClosed) return;
        const trailers = rawPairs(c.rawTrailers);
        const encodedTrailers = trailers.length > 0 ? encodeTrailers(trailers) : undefined;
        if (inline) {
          const bodyBytes = inline.length === 1 ? inline[0]! : Buffer.concat(inline);
          stream.sendHead(encodeResponseHead({ status, statusText, headers, body: bodyBytes }), !encodedTrailers);
          if (encodedTrailers) stream.end(encodedTrailers);
        } else {
          stream.end(encodedTrailers);
        }
      },
      onResponseError(_c, err) {
        clearTimeout(timer);
        if (stream.isClosed) return;
        const error = upstreamError(err as NodeJS.ErrnoException, upstream.url);
        stream.reset(responded ? ErrorCode.UpstreamError : error.code, responded ? "the upstream connection broke mid-response" : error.message);
      },
    },
  );
  if (endStream) armTimeout();
}

/**
 * The request body as a Readable for undici, fed by the data stream. Credit goes back to the edge
 * only as undici reads, so a slow upstream slows the client instead of filling memory.
 */
function streamedBody(stream: MuxStream, first: Uint8Array, onSent: () => void): Readable {
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
