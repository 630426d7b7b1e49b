import { ErrorCode, OnrampError } from "@onramp/errors";
import type { Logger } from "@onramp/telemetry";
import { createServer, Server as HttpServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from "node:http";
import {
  createSecureServer as createSecureHttp2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type Http2Session,
  type ServerHttp2Stream,
} from "node:http2";
import { createServer as createTlsServer } from "node:https";
import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { SecureContext, Server as TlsServer, TlsOptions } from "node:tls";
import { answerHttpChallenge, type HttpChallengeAnswers } from "./acme-http01.js";
import { answerTlsAlpnChallenges } from "./acme-tls-alpn.js";
import { headBytesOf, IngressHttp2Request, IngressHttp2Response, isHttp2Request, sessionOf } from "./http2-adapter.js";
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
  /**
   * Connections past their TLS handshake: both TLS servers report handshake failures as
   * `clientError` too, on sockets no HTTP error may be written to.
   */
  handshaken?: WeakSet<Duplex>;
  /** ACME HTTP-01 answers, given before anything else sees the request (HTTP only). */
  acmeHttp01?: HttpChallengeAnswers;
}

/** ACME on the HTTPS listener (acme-certificates.ts): certificates by SNI and TLS-ALPN-01 answers. */
export interface HttpsAcme {
  /** The ACME certificate for a name, waiting for an order when one starts; undefined: the default, if any. */
  contextFor(servername: string): Promise<SecureContext | undefined>;
  alpnChallenge(servername: string): Promise<SecureContext | undefined>;
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
  acmeHttp01?: HttpChallengeAnswers,
): Server {
  const server = createServer(serverOptionsOf(options));
  serveIngress(server, proxy, table, options, connections, logger, { connectionEvent: "connection", redirectToHttpsPort, acmeHttp01 });
  return server;
}

/**
 * A public TLS listener: node:https's server, or node:http2's with HTTP/1.1 fallback. Both close
 * idle connections (HTTP/2 sessions get GOAWAY and finish their streams) and all of them.
 */
export type PublicTlsServer = TlsServer & {
  closeIdleConnections(): void;
  closeAllConnections(): void;
};

/**
 * HTTP/2 limits of the HTTPS listener (documented in docs/security.md). Node's nghttp2 (1.57 or
 * later) also ends a session that resets streams faster than it allows (rapid reset,
 * CVE-2023-44487), floods it with SETTINGS or PING frames whose answers it does not read
 * (CVE-2019-9512/9515), or sends endless CONTINUATION frames (CVE-2024-27983).
 */
export const HTTP2_LIMITS = {
  /** Streams (requests) one connection may have open at once; as Node's and Apache's default, nginx has 128. */
  maxConcurrentStreams: 100,
  /** Header fields (pseudo-headers included) of one request; more resets the stream. */
  maxHeaderListPairs: 256,
  /** Memory one session may use for its state and queued frames, in MB (Node's default); more ends it. */
  maxSessionMemoryMb: 10,
  /** Settings in one SETTINGS frame (Node's default). */
  maxSettings: 32,
  /** PINGs sent and not yet answered; for the edge's own pings (Node's default). */
  maxOutstandingPings: 10,
  /** Invalid frames a session may send before it is ended (Node's default: 1000). */
  maxSessionInvalidFrames: 100,
  /** Streams refused (over maxConcurrentStreams, or during shutdown) before the session is ended (Node's default). */
  maxSessionRejectedStreams: 100,
} as const;

/** 65 s: longer than the 60 s idle timeout of common load balancers in front of an edge. */
const KEEP_ALIVE_MS = 65_000;

/**
 * The public HTTPS listener: the same request handling as the HTTP one behind TLS, with the
 * certificate chosen per handshake by SNI from `certificates` (so a reload reaches new
 * connections only). With `http2` (the default) it offers ALPN `h2` and `http/1.1`: HTTP/2
 * requests are adapted to what the handling expects (http2-adapter.ts), HTTP/1.1 ones (and
 * clients without ALPN) are served exactly as by node:https.
 */
export function createHttpsIngress(
  proxy: HttpProxy,
  table: RoutingTable,
  options: HttpIngressOptions & { hstsMaxAgeSeconds: number | undefined; http2: boolean },
  connections: ClientConnections,
  logger: Logger,
  certificates: CertificateStore | undefined,
  acme?: HttpsAcme,
): PublicTlsServer {
  // The first certificate is also the server's own: SNICallback runs only for clients that send a
  // name, and one dialling an IP address sends none (with ACME alone, such a handshake fails).
  const first = () => certificates?.certificates[0]!.pem;
  const tlsOptions = {
    ...first(),
    SNICallback: (servername: string, callback: (err: Error | null, ctx?: SecureContext) => void) => {
      // A certificate file covering the name wins; ACME serves (or orders) the names none covers.
      if (!acme || certificates?.matching(servername)) return callback(null, certificates!.contextFor(servername));
      acme.contextFor(servername).then(
        (context) => {
          const chosen = context ?? certificates?.contextFor(servername);
          callback(chosen ? null : new Error(`no certificate for ${servername}`), chosen);
        },
        (err: Error) => callback(err),
      );
    },
    // Handshakes count against the head deadline too: a client that opens TLS and stalls is cut.
    handshakeTimeout: options.headerTimeoutMs,
  };
  const hsts = options.hstsMaxAgeSeconds === undefined ? undefined : `max-age=${options.hstsMaxAgeSeconds}`;
  const behaviour: ListenerBehaviour = { connectionEvent: "secureConnection", strictTransportSecurity: hsts, handshaken: new WeakSet() };
  let server: PublicTlsServer;
  if (options.http2) {
    server = createHttp2Server(options, tlsOptions, connections, logger);
  } else {
    server = createTlsServer({ ...serverOptionsOf(options), ...tlsOptions, ALPNProtocols: ["http/1.1"] });
  }
  if (certificates) certificates.onReload = () => server.setSecureContext(first()!);
  if (acme) answerTlsAlpnChallenges(server, (name) => acme.alpnChallenge(name), options.headerTimeoutMs, logger);
  // Handshake failures (scanners, wrong protocol, a client refusing the certificate) are routine.
  server.on("tlsClientError", (err: NodeJS.ErrnoException) => logger.debug({ code: err.code, err: err.message }, "TLS handshake failed"));
  serveIngress(server, proxy, table, options, connections, logger, behaviour);
  return server;
}

/**
 * node:http2's server with HTTP/1.1 fallback. Its HTTP/1.1 side is node:http's own connection
 * handling, which reads its limits from properties of the server rather than from options.
 */
function createHttp2Server(options: HttpIngressOptions, tlsOptions: TlsOptions, connections: ClientConnections, logger: Logger): PublicTlsServer {
  const server = createSecureHttp2Server({
    ...tlsOptions,
    // As node:http and node:https do (HTTP/2 sessions set it themselves, HTTP/1.1 ones would not).
    noDelay: true,
    allowHTTP1: true,
    Http2ServerRequest: IngressHttp2Request as unknown as typeof Http2ServerRequest,
    Http2ServerResponse: IngressHttp2Response as unknown as typeof Http2ServerResponse,
    settings: {
      maxConcurrentStreams: HTTP2_LIMITS.maxConcurrentStreams,
      // The hard limit, past which the stream is reset. HTTP/2 counts each field as its name and
      // value plus 32 bytes, HTTP/1.1 as the line; the head a request may have is the same
      // --max-header-size either way, checked as HTTP/1.1 counts it (headBytesOf) with a 431.
      maxHeaderListSize: options.maxHeaderBytes + 32 * HTTP2_LIMITS.maxHeaderListPairs,
    },
    maxHeaderListPairs: HTTP2_LIMITS.maxHeaderListPairs,
    maxSessionMemory: HTTP2_LIMITS.maxSessionMemoryMb,
    maxSettings: HTTP2_LIMITS.maxSettings,
    maxOutstandingPings: HTTP2_LIMITS.maxOutstandingPings,
    maxSessionInvalidFrames: HTTP2_LIMITS.maxSessionInvalidFrames,
    maxSessionRejectedStreams: HTTP2_LIMITS.maxSessionRejectedStreams,
  });
  Object.assign(server, serverOptionsOf(options));
  const sessions = new Set<Http2Session>();
  server.on("session", (session: Http2Session) => {
    sessions.add(session);
    connections.accepted(session);
    let open = 0;
    // Until its first request a session has the head deadline, as an HTTP/1.1 connection has;
    // after that, the keep-alive timeout while it has no open stream.
    session.setTimeout(options.headerTimeoutMs, () => {
      if (open === 0 && !session.closed && !session.destroyed) session.close();
    });
    session.on("stream", (stream: ServerHttp2Stream) => {
      if (open++ === 0) session.setTimeout(KEEP_ALIVE_MS);
      stream.once("close", () => open--);
    });
    session.once("close", () => sessions.delete(session));
  });
  server.on("sessionError", (err: NodeJS.ErrnoException) => logger.debug({ code: err.code, err: err.message }, "HTTP/2 session error"));
  // Node's own closes idle HTTP/1.1 connections only.
  const closeIdleHttp1 = (server as unknown as { closeIdleConnections(): void }).closeIdleConnections.bind(server);
  return Object.assign(server, {
    closeIdleConnections(): void {
      closeIdleHttp1();
      // GOAWAY: no new streams; those open finish, then the connection closes.
      for (const session of sessions) if (!session.closed) session.close();
    },
    closeAllConnections(): void {
      HttpServer.prototype.closeAllConnections.call(server);
      for (const session of sessions) session.destroy();
    },
  });
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
    keepAliveTimeout: KEEP_ALIVE_MS,
    // Node's own answer to a missing Host is a bare 400; admitRequest answers with a code.
    requireHostHeader: false,
  };
}

/** The request, upgrade, CONNECT and client-error handling both listeners share. */
function serveIngress(
  server: Server | PublicTlsServer,
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
    if (isHttp2Request(req)) {
      // The stream shares its connection's state (policies' `conn.*`, `on_tcp_connect`).
      connections.share(req.socket, sessionOf(req));
      // HTTP/2's own limit (SETTINGS_MAX_HEADER_LIST_SIZE) only resets the stream, and binds a
      // connection's first requests only once the client has acknowledged it: this is the 431.
      if (headBytesOf(req) > options.maxHeaderBytes) return sendError(res, headersTooLarge(options), hasBody(req));
    }
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
  const { handshaken } = behaviour;
  server.on(behaviour.connectionEvent, (socket: Socket) => {
    connections.accepted(socket);
    handshaken?.add(socket);
  });
  const { acmeHttp01 } = behaviour;
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    if (acmeHttp01 && answerHttpChallenge(acmeHttp01, req, res, () => accept(req, res, false))) return;
    accept(req, res, false);
  });
  server.on("checkContinue", (req: IncomingMessage, res: ServerResponse) => accept(req, res, true));
  // An expectation other than 100-continue is ignored, as nginx does (RFC 9110 §10.1.1 allows a
  // 417, but Node's would carry no Onramp-Error-Code): the request is served as if it had none.
  server.on("checkExpectation", (req: IncomingMessage, res: ServerResponse) => accept(req, res, false));
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
  // CONNECT asks for a tunnel to any host: Node hands it over here, apart from other requests
  // (over HTTP/2 as a request and a response, over HTTP/1.1 as the socket).
  server.on("connect", (req: IncomingMessage, socketOrResponse: Duplex | ServerResponse) => {
    const error = new OnrampError(ErrorCode.MethodNotAllowed, "the edge is not a forward proxy: CONNECT is not served");
    if (!isHttp2Request(req)) return writeRawError(socketOrResponse as Duplex, error, ["Allow", ALLOWED_METHODS]);
    const res = socketOrResponse as ServerResponse;
    res.setHeader("allow", ALLOWED_METHODS);
    sendError(res, error);
  });
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Duplex) => {
    // A failed TLS handshake (logged as tlsClientError): there is no HTTP to answer in.
    if (handshaken && !handshaken.has(socket)) return void socket.destroy();
    if (err.code === "ECONNRESET" || !socket.writable) {
      socket.destroy();
      return;
    }
    const error =
      err.code === "HPE_HEADER_OVERFLOW"
        ? headersTooLarge(options)
        : err.code === "ERR_HTTP_REQUEST_TIMEOUT" || err.code === "ERR_HTTP_HEADERS_TIMEOUT"
          ? new OnrampError(ErrorCode.RequestTimeout, `the request line and headers did not arrive within ${options.headerTimeoutMs} ms`)
          : new OnrampError(ErrorCode.MalformedRequest, `malformed HTTP request (${err.code ?? err.message})`);
    logger.debug({ code: err.code }, "client error");
    writeRawError(socket, error);
  });
}

function headersTooLarge(options: HttpIngressOptions): OnrampError {
  return new OnrampError(ErrorCode.HeadersTooLarge, `the request line and headers exceed ${options.maxHeaderBytes} bytes`);
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
