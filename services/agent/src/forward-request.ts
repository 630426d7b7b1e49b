import { ErrorCode, OnrampError } from "@onramp/errors";
import { encodeResponseHead, encodeTrailers, forwardableHeaders, rawHeader, type MuxStream } from "@onramp/mux";
import type { RequestHead } from "@onramp/proto";
import type { IncomingMessage } from "node:http";
import { upstreamError, type Upstream } from "./upstream.js";

export interface ForwardOptions {
  upstreamTimeoutMs: number;
  inlineBodyBytes: number;
}

/**
 * Replays one request from the edge against the upstream and streams the response back.
 * Backpressure holds both ways; a reset from the edge (client gone) aborts the upstream request.
 */
export function forwardRequest(stream: MuxStream, head: RequestHead, endStream: boolean, upstream: Upstream, options: ForwardOptions): void {
  const headers = head.headers;
  // Transfer-Encoding was stripped as hop-by-hop; a streamed body of unknown length needs it back.
  if (!endStream && rawHeader(headers, "content-length") === undefined) headers.push("Transfer-Encoding", "chunked");
  const req = upstream.request({ ...upstream.base, method: head.method, path: head.path, headers });
  let responded = false;
  let pendingCredit = 0;
  let waitingDrain = false;

  const timer =
    options.upstreamTimeoutMs > 0
      ? setTimeout(() => {
          fail(new OnrampError(ErrorCode.UpstreamTimeout, `the upstream ${upstream.url} sent no response within ${options.upstreamTimeoutMs} ms`));
          req.destroy();
        }, options.upstreamTimeoutMs)
      : undefined;

  const fail = (error: OnrampError) => {
    clearTimeout(timer);
    if (!stream.isClosed) stream.reset(responded ? ErrorCode.UpstreamError : error.code, error.message);
  };

  req.on("error", (err: NodeJS.ErrnoException) => fail(upstreamError(err, upstream.url)));
  req.on("drain", () => {
    waitingDrain = false;
    if (pendingCredit > 0) {
      stream.consumed(pendingCredit);
      pendingCredit = 0;
    }
  });

  stream.handler = {
    onData: (chunk) => {
      if (req.write(chunk) && !waitingDrain) stream.consumed(chunk.length);
      else {
        waitingDrain = true;
        pendingCredit += chunk.length;
      }
    },
    onEnd: () => req.end(),
    onReset: () => {
      clearTimeout(timer);
      req.destroy();
    },
  };

  req.on("response", (res: IncomingMessage) => {
    clearTimeout(timer);
    responded = true;
    const responseHeaders = forwardableHeaders(res.rawHeaders);
    const declared = Number(res.headers["content-length"] ?? -1);
    if (declared >= 0 && declared <= options.inlineBodyBytes) {
      sendInline(stream, res, responseHeaders);
    } else {
      stream.sendHead(encodeResponseHead({ status: res.statusCode ?? 502, statusText: res.statusMessage ?? "", headers: responseHeaders }), false);
      pipeResponse(stream, res);
    }
    res.on("error", () => fail(new OnrampError(ErrorCode.UpstreamError, "the upstream connection broke mid-response")));
    res.on("aborted", () => fail(new OnrampError(ErrorCode.UpstreamError, "the upstream aborted the response")));
  });

  if (head.body.length > 0) req.write(head.body);
  if (endStream) req.end();
}

function sendInline(stream: MuxStream, res: IncomingMessage, headers: string[]): void {
  const chunks: Buffer[] = [];
  res.on("data", (chunk: Buffer) => chunks.push(chunk));
  res.on("end", () => {
    if (stream.isClosed) return;
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    const trailers = res.rawTrailers;
    const noTrailers = trailers.length === 0;
    stream.sendHead(encodeResponseHead({ status: res.statusCode ?? 502, statusText: res.statusMessage ?? "", headers, body }), noTrailers);
    if (!noTrailers) stream.end(encodeTrailers(trailers));
  });
}

function pipeResponse(stream: MuxStream, res: IncomingMessage): void {
  stream.handler.onWritable = () => res.resume();
  res.on("data", (chunk: Buffer) => {
    if (!stream.write(chunk)) res.pause();
  });
  res.on("end", () => {
    const trailers = res.rawTrailers;
    stream.end(trailers.length > 0 ? encodeTrailers(trailers) : undefined);
  });
}
