import { ErrorCode, OnrampError } from "@onramp/errors";
import type { Logger } from "@onramp/telemetry";
import { createServer, type Server } from "node:http";
import { writeRawError } from "./error-response.js";
import type { HttpProxy } from "./http-proxy.js";
import type { ClientConnections } from "./client-connections.js";
import type { RoutingTable } from "./routing-table.js";
import { proxyUpgrade } from "./upgrade-proxy.js";

/**
 * The public HTTP/1.1 listener. Node parses HTTP; what it rejects (oversized or malformed
 * heads) is answered here with an Onramp error code instead of Node's bare 400.
 */
export function createHttpIngress(
  proxy: HttpProxy,
  table: RoutingTable,
  options: { maxHeaderBytes: number },
  connections: ClientConnections,
  logger: Logger,
): Server {
  const server = createServer({
    maxHeaderSize: options.maxHeaderBytes,
    // Bodies may stream for a long time (large uploads over slow links): no whole-request deadline.
    requestTimeout: 0,
    // 60 s to send a request head, as nginx's client_header_timeout.
    headersTimeout: 60_000,
    // 65 s: longer than the 60 s idle timeout of common load balancers in front of an edge.
    keepAliveTimeout: 65_000,
  });
  server.on("connection", (socket) => connections.accepted(socket));
  server.on("request", (req, res) => proxy.handle(req, res, false));
  server.on("checkContinue", (req, res) => proxy.handle(req, res, true));
  server.on("upgrade", (req, socket, head) => proxyUpgrade(table, proxy.policies, req, socket, head));
  server.on("clientError", (err: NodeJS.ErrnoException, socket) => {
    if (err.code === "ECONNRESET" || !socket.writable) {
      socket.destroy();
      return;
    }
    const error =
      err.code === "HPE_HEADER_OVERFLOW"
        ? new OnrampError(ErrorCode.HeadersTooLarge, `the request line and headers exceed ${options.maxHeaderBytes} bytes`)
        : err.code === "ERR_HTTP_REQUEST_TIMEOUT" || err.code === "ERR_HTTP_HEADERS_TIMEOUT"
          ? new OnrampError(ErrorCode.MalformedRequest, "the request head did not arrive in time")
          : new OnrampError(ErrorCode.MalformedRequest, `malformed HTTP request (${err.code ?? err.message})`);
    logger.debug({ code: err.code }, "client error");
    writeRawError(socket, error);
  });
  return server;
}
