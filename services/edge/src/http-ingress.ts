import { ErrorCode, OnrampError } from "@onramp/errors";
import type { Logger } from "@onramp/telemetry";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { sendError, writeRawError } from "./error-response.js";
import { hasBody, type HttpProxy } from "./http-proxy.js";
import type { ClientConnections } from "./client-connections.js";
import { admitRequest } from "./request-admission.js";
import type { TargetNormalization } from "./request-target.js";
import type { RoutingTable } from "./routing-table.js";
import { proxyUpgrade } from "./upgrade-proxy.js";

export interface HttpIngressOptions extends TargetNormalization {
  maxHeaderBytes: number;
  /** Time a client has to send the request line and headers, in ms. */
  headerTimeoutMs: number;
}

/**
 * Every method the edge forwards, for `Allow`: all but CONNECT, since the edge is no forward
 * proxy (TRACE goes to the upstream, which decides).
 */
const ALLOWED_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, TRACE";

/**
 * The public HTTP/1.1 listener. Node parses HTTP; what it rejects (oversized, malformed or slow
 * heads) is answered here with an Onramp error code instead of Node's bare 400. Every request is
 * admitted (request-admission.ts: one Host, a normalised target) before anything routes it.
 */
export function createHttpIngress(
  proxy: HttpProxy,
  table: RoutingTable,
  options: HttpIngressOptions,
  connections: ClientConnections,
  logger: Logger,
): Server {
  const server = createServer({
    maxHeaderSize: options.maxHeaderBytes,
    // Bodies may stream for a long time (large uploads over slow links): no whole-request deadline;
    // the proxy bounds the pauses within a body instead (body-idle-timeout.ts).
    requestTimeout: 0,
    headersTimeout: options.headerTimeoutMs,
    // Node checks head deadlines every 30 s by default, so a 60 s timeout fired after 60-90 s.
    // Checking every quarter of the timeout, at most every 1 s, makes it fire at most that late;
    // each check walks only the connections in the middle of a request.
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(options.headerTimeoutMs / 4))),
    // 65 s: longer than the 60 s idle timeout of common load balancers in front of an edge.
    keepAliveTimeout: 65_000,
    // Node's own answer to a missing Host is a bare 400; admitRequest answers with a code.
    requireHostHeader: false,
  });
  const accept = (req: IncomingMessage, res: ServerResponse, expectContinue: boolean) => {
    const admission = admitRequest(req, options);
    if (admission.kind === "route") return proxy.handle(req, res, expectContinue);
    if (admission.kind === "server-options") return answerServerOptions(res, hasBody(req));
    logger.debug({ err: admission.error.message }, "request refused at the listener");
    // A refused body is never read: close the connection rather than drain it.
    sendError(res, admission.error, hasBody(req));
  };
  server.on("connection", (socket) => connections.accepted(socket));
  server.on("request", (req, res) => accept(req, res, false));
  server.on("checkContinue", (req, res) => accept(req, res, true));
  server.on("upgrade", (req, socket, head) => {
    const admission = admitRequest(req, options);
    if (admission.kind === "route") return proxyUpgrade(table, proxy.policies, req, socket, head);
    table.meter.upgradeEnded("unrouted");
    writeRawError(socket, admission.kind === "refuse" ? admission.error : new OnrampError(ErrorCode.MalformedRequest, "OPTIONS * cannot switch protocols"));
  });
  // CONNECT asks for a tunnel to any host: Node hands it over here, apart from other requests.
  server.on("connect", (_req, socket) => {
    writeRawError(socket, new OnrampError(ErrorCode.MethodNotAllowed, "the edge is not a forward proxy: CONNECT is not served"), ["Allow", ALLOWED_METHODS]);
  });
  server.on("clientError", (err: NodeJS.ErrnoException, socket) => {
    if (err.code === "ECONNRESET" || !socket.writable) {
      socket.destroy();
      return;
    }
    const error =
      err.code === "HPE_HEADER_OVERFLOW"
        ? new OnrampError(ErrorCode.HeadersTooLarge, `the request line and headers exceed ${options.maxHeaderBytes} bytes`)
        : err.code === "ERR_HTTP_REQUEST_TIMEOUT" || err.code === "ERR_HTTP_HEADERS_TIMEOUT"
          ? new OnrampError(ErrorCode.RequestTimeout, `the request line and headers did not arrive within ${options.headerTimeoutMs} ms`)
          : new OnrampError(ErrorCode.MalformedRequest, `malformed HTTP request (${err.code ?? err.message})`);
    logger.debug({ code: err.code }, "client error");
    writeRawError(socket, error);
  });
  return server;
}

/**
 * `OPTIONS *` (RFC 9110 §9.3.7) asks what the server supports, not any resource: the edge answers
 * for itself with 204 and `Allow`, and never routes `*` as if it were a path.
 */
function answerServerOptions(res: ServerResponse, closeConnection: boolean): void {
  res.setHeader("allow", ALLOWED_METHODS);
  if (closeConnection) res.setHeader("connection", "close");
  res.writeHead(204);
  res.end();
}
