import { ErrorCode, OnrampError } from "@onramp/errors";
import type { MuxStream } from "@onramp/mux";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Readable } from "node:stream";
import { sendError } from "./error-response.js";

/**
 * Calls `onIdle` when a request body being read goes `timeoutMs` without a new piece, as nginx's
 * client_body_timeout: without it a client sending a byte now and then holds a request, a stream
 * to the agent and an upstream connection open for ever. 0 turns it off.
 *
 * The clock runs only while the body is wanted: from the moment the proxy starts reading it
 * (after the traffic policy and the `100 Continue`, so the edge's own delays never count against
 * the client), and not while the reader holds it back (`pause`, when the upstream reads slower
 * than the client sends). It stops for good when the body ends or the request closes.
 * (The socket's own idle timer, `req.setTimeout`, would count those pauses too: a large upload to
 * a slow upstream would be cut for the upstream's slowness.)
 */
export function watchBodyIdle(body: Readable, timeoutMs: number, onIdle: () => void): void {
  if (timeoutMs <= 0 || body.readableEnded) return;
  let timer: NodeJS.Timeout | undefined;
  let done = false;
  const expire = () => {
    timer = undefined;
    stop();
    onIdle();
  };
  const arm = () => {
    if (!done && !timer) timer = setTimeout(expire, timeoutMs);
  };
  const disarm = () => {
    clearTimeout(timer);
    timer = undefined;
  };
  const touch = () => timer?.refresh();
  const stop = () => {
    done = true;
    disarm();
    body.off("data", touch).off("pause", disarm).off("resume", arm);
  };
  body.on("data", touch).on("pause", disarm).on("resume", arm).once("end", stop).once("close", stop);
  arm();
}

/**
 * Ends an exchange whose body stalled: the agent's stream is reset (the upstream request is
 * aborted), and the client gets 408 REQUEST_TIMEOUT, or, when its response has already begun,
 * a closed connection: nothing else can be said in the middle of a response.
 */
export function endStalledExchange(req: IncomingMessage, res: ServerResponse, stream: MuxStream | undefined, timeoutMs: number): void {
  const error = new OnrampError(ErrorCode.RequestTimeout, `no part of the request body arrived for ${timeoutMs} ms`);
  stream?.reset(error.code, error.message);
  if (res.headersSent) req.socket.destroy();
  else sendError(res, error, true);
}
