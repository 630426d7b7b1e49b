import { ErrorCode, OnrampError } from "@onramp/errors";
import { bridgeSocket, encodeResponseHead, forwardableHeaders, type MuxStream } from "@onramp/mux";
import type { RequestHeadFields as RequestHead } from "@onramp/mux";
import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { upstreamError, upstreamHeaders, type Upstream } from "./upstream.js";

/**
 * Replays a protocol-switch request (WebSocket and other upgrades). After the upstream's 101 the
 * stream and the upstream socket are joined byte for byte; a non-101 answer is an ordinary response.
 */
export function forwardUpgrade(stream: MuxStream, head: RequestHead, upstream: Upstream, timeoutMs: number): void {
  // The edge put Connection/Upgrade back for this request's headers.
  const req = upstream.request({ ...upstream.base, method: head.method, path: head.path, headers: upstreamHeaders(upstream, head.headers) });
  const early: Buffer[] = [];
  let socket: Duplex | undefined;
  const timer = timeoutMs > 0 ? setTimeout(() => req.destroy(Object.assign(new Error("timeout"), { code: "ETIMEDOUT" })), timeoutMs) : undefined;

  // Until the upstream switches protocols, bytes the client sent early wait here.
  stream.handler = {
    onData: (chunk) => {
      early.push(chunk);
      stream.consumed(chunk.length);
    },
    onReset: () => {
      clearTimeout(timer);
      req.destroy();
      socket?.destroy();
    },
  };

  req.on("error", (err: NodeJS.ErrnoException) => {
    clearTimeout(timer);
    if (stream.isClosed) return;
    const error =
      err.code === "ETIMEDOUT"
        ? new OnrampError(ErrorCode.UpstreamTimeout, `the upstream ${upstream.url} did not answer the upgrade within ${timeoutMs} ms`)
        : upstreamError(err, upstream.url);
    stream.reset(error.code, error.message);
  });

  req.on("response", (res: IncomingMessage) => {
    clearTimeout(timer);
    const headers = forwardableHeaders(res.rawHeaders);
    stream.sendHead(encodeResponseHead({ status: res.statusCode ?? 502, statusText: res.statusMessage ?? "", headers }), false);
    res.on("data", (chunk: Buffer) => {
      if (!stream.write(chunk)) res.pause();
    });
    stream.handler.onWritable = () => res.resume();
    res.on("end", () => stream.end());
  });

  req.on("upgrade", (res: IncomingMessage, upstreamSocket: Duplex, upgradeHead: Buffer) => {
    clearTimeout(timer);
    socket = upstreamSocket;
    stream.sendHead(encodeResponseHead({ status: 101, statusText: res.statusMessage ?? "Switching Protocols", headers: res.rawHeaders }), false);
    if (upgradeHead.length > 0) stream.write(upgradeHead);
    for (const chunk of early.splice(0)) upstreamSocket.write(chunk);
    bridgeSocket(stream, upstreamSocket);
    upstreamSocket.on("close", () => {
      if (!stream.isClosed) stream.reset(ErrorCode.UpstreamError, "the upstream closed the upgraded connection");
    });
  });

  req.end();
}
