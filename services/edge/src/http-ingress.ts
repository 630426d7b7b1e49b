import { ErrorCode, OnrampError } from "@onramp/errors";
import type { Logger } from "@onramp/telemetry";
import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from "node:http";
import { createServer as createTlsServer, type Server as HttpsServer } from "node:https";
import type { Duplex } from "node:stream";
import { sendError, writeRawError, writeRawResponse } from "./error-response.js";
import { hostnameOf } from "./endpoint-url.js";
import { hasBody, type HttpProxy } from "./http-proxy.js";
import type { ClientConnections } from "./client-connections.js";
import { admitRequest } from "./request-admission.js";
import type { TargetNormalization } from "./request-target.js";
import type { RoutingTable } from "./routing-table.js";
import type { CertificateStore } from "./tls-certificates.js";
import { proxyUpgrade } from "./upgrade-proxy.js";

export interface HttpIngressOptions extends TargetNormalization {
  maxHeaderBytes: number;
  /** Time a client has to send the request line and headers, in ms. */
  headerTimeoutMs: number;
}

/** What differs between the listeners; the request handling itself is shared. */
interface ListenerBehaviour {
  /** Plain HTTP with `--redirect-http-to-https`: the HTTPS listener's port, for the `Location`. */
  redirectToHttpsPort?: () => number;
  /** `Strict-Transport-Security` value for every response (HTTPS only). */
  strictTransportSecurity?: string;
  /** The event that hands over a client connection: `connection` (TCP) or `secureConnection` (TLS). */
  connectionEvent: "connection" | "secureConnection";
}

/**
 * Every method the edge forwards, for `Allow`: all but CONNECT, since the edge is no forward
 * proxy (TRACE goes to the upstream, which decides).
 */
const ALLOWED_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS, TRACE";

/**
 * The public HTTP/1.1 listener. Node parses HTTP; what it rejects (oversized, malformed or slow
 * heads) is answered here with an Onramp error code instead of Node's bare 400. Every request is
 * admitted (request-admission.ts: one Host, a normalised target) before anything routes it. With
 * `redirectToHttpsPort`, every admitted request is answered with 308 to the same URL over HTTPS.
 */
export function createHttpIngress(
  proxy: HttpProxy,
  table: RoutingTable,
  options: HttpIngressOptions,
  connections: ClientConnections,
  logger: Logger,
  redirectToHttpsPort?: () => number,
): Server {
  const server = createServer(serverOptionsOf(options));
  serveIngress(server, proxy, table, options, connections, logger, { connectionEvent: "connection", redirectToHttpsPort });
  return server;
}

/**
 * The public HTTPS listener: the same request handling as the HTTP one behind TLS, with the
 * certificate chosen per handshake by SNI from `certificates` (so a reload reaches new
 * connections only). HTTP/1.1 only for now (ALPN `http/1.1`).
 */
export function createHttpsIngress(
  proxy: HttpProxy,
  table: RoutingTable,
  options: HttpIngressOptions & { hstsMaxAgeSeconds: number | undefined },
  connections: ClientConnections,
  logger: Logger,
  certificates: CertificateStore,
): HttpsServer {
  // The first certificate is also the server's own: SNICallback runs only for clients that send a
  // name, and one dialling an IP address sends none.
  const first = () => certificates.certificates[0]!.pem;
  const server = createTlsServer({
    ...serverOptionsOf(options),
    ...first(),
    ALPNProtocols: ["http/1.1"],
    SNICallback: (servername, callback) => callback(null, certificates.contextFor(servername)),
    // Handshakes count against the head deadline too: a client that opens TLS and stalls is cut.
    handshakeTimeout: options.headerTimeoutMs,
  });
  certificates.onReload = () => server.setSecureContext(first());
  // Handshake failures (scanners, wrong protocol, a client refusing the certificate) are routine.
  server.on("tlsClientError", (err: NodeJS.ErrnoException) => logger.debug({ code: err.code, err: err.message }, "TLS handshake failed"));
  const hsts = options.hstsMaxAgeSeconds === undefined ? undefined : `max-age=${options.hstsMaxAgeSeconds}`;
  serveIngress(server, proxy, table, options, connections, logger, { connectionEvent: "secureConnection", strictTransportSecurity: hsts });
  return server;
}

function serverOptionsOf(options: HttpIngressOptions): ServerOptions {
  return {
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
  };
}

/** The request, upgrade, CONNECT and client-error handling both listeners share. */
function serveIngress(
  server: Server | HttpsServer,
  proxy: HttpProxy,
  table: RoutingTable,
  options: HttpIngressOptions,
  connections: ClientConnections,
  logger: Logger,
  behaviour: ListenerBehaviour,
): void {
  const { redirectToHttpsPort, strictTransportSecurity } = behaviour;
  const accept = (req: IncomingMessage, res: ServerResponse, expectContinue: boolean) => {
    if (strictTransportSecurity) res.setHeader("strict-transport-security", strictTransportSecurity);
    const admission = admitRequest(req, options);
    if (admission.kind === "route") {
      if (redirectToHttpsPort) return redirect(res, httpsUrlOf(req, redirectToHttpsPort()), hasBody(req));
      return proxy.handle(req, res, expectContinue);
    }
    if (admission.kind === "server-options") return answerServerOptions(res, hasBody(req));
    logger.debug({ err: admission.error.message }, "request refused at the listener");
    // A refused body is never read: close the connection rather than drain it.
    sendError(res, admission.error, hasBody(req));
  };
  server.on(behaviour.connectionEvent, (socket) => connections.accepted(socket));
  server.on("request", (req, res) => accept(req, res, false));
  server.on("checkContinue", (req, res) => accept(req, res, true));
  // An expectation other than 100-continue is ignored, as nginx does (RFC 9110 §10.1.1 allows a
  // 417, but Node's would carry no Onramp-Error-Code): the request is served as if it had none.
  server.on("checkExpectation", (req, res) => accept(req, res, false));
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const admission = admitRequest(req, options);
    if (admission.kind === "route" && redirectToHttpsPort) {
      table.meter.upgradeEnded("unrouted");
      return writeRawResponse(socket, { status: 308, headers: ["Location", httpsUrlOf(req, redirectToHttpsPort())], body: "", code: undefined });
    }
    if (admission.kind === "route") return proxyUpgrade(table, proxy.policies, req, socket, head);
    table.meter.upgradeEnded("unrouted");
    writeRawError(socket, admission.kind === "refuse" ? admission.error : new OnrampError(ErrorCode.MalformedRequest, "OPTIONS * cannot switch protocols"));
  });
  // CONNECT asks for a tunnel to any host: Node hands it over here, apart from other requests.
  server.on("connect", (_req: IncomingMessage, socket: Duplex) => {
    writeRawError(socket, new OnrampError(ErrorCode.MethodNotAllowed, "the edge is not a forward proxy: CONNECT is not served"), ["Allow", ALLOWED_METHODS]);
  });
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Duplex) => {
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
}

/** The request's URL over HTTPS: same host and (admitted, normalised) target, the HTTPS port unless 443. */
export function httpsUrlOf(req: IncomingMessage, httpsPort: number): string {
  const host = hostnameOf(req.headers.host) ?? "";
  return `https://${host}${httpsPort === 443 ? "" : `:${httpsPort}`}${req.url ?? "/"}`;
}

/**
 * 308 (RFC 9110 §15.4.9), not 301: the method and body are kept, so a POST is not turned into a
 * GET. The body is never read, so a request with one closes the connection.
 */
function redirect(res: ServerResponse, location: string, closeConnection: boolean): void {
  res.setHeader("location", location);
  res.setHeader("content-length", 0);
  if (closeConnection) res.setHeader("connection", "close");
  res.writeHead(308);
  res.end();
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
