import type { Logger } from "@onramp/telemetry";
import { createServer, type Server, type Socket } from "node:net";
import { TLSSocket, type SecureContext } from "node:tls";
import { DATA_MAGIC, RELAY_MAGIC } from "@onramp/mux";
import type { CertificateStore } from "./tls-certificates.js";

/** The HTTP/2 connection preface every gRPC client starts with (RFC 9113 §3.4). */
const H2_PREFACE_START = Buffer.from("PRI * HT", "latin1");
const SNIFF_BYTES = 8;
/** A TLS record of type handshake (a ClientHello), as a client that expects TLS starts. */
const TLS_HANDSHAKE_RECORD = 0x16;
/**
 * What a plaintext agent port answers a TLS client with before closing: not TLS, so the client's
 * TLS library reports "wrong version number", which agents read as "this edge does not speak TLS".
 */
const NOT_TLS_ANSWER = "onramp: this edge's agent port does not serve TLS (the edge has no certificate); use --insecure-edge or give the edge --tls-cert and --tls-key\n";

export interface AgentListenerHandlers {
  /** A connection that began with the HTTP/2 preface: hand it to the gRPC server. */
  grpc(socket: Socket): void;
  /** A connection that began with the data magic (already consumed). */
  data(socket: Socket): void;
  /** A relay connection from another edge, begun with the relay magic (already consumed). */
  relay(socket: Socket): void;
}

/** Certificates by ACME (acme-certificates.ts), for the names no certificate file covers. */
export interface AgentPortAcme {
  /** The certificate for a name, waiting for an order when one starts; undefined: none. */
  contextFor(servername: string): Promise<SecureContext | undefined>;
}

/**
 * One port for agents and other edges: the first eight bytes tell a gRPC control connection
 * from a data connection or a relay connection, so operators open and firewall a single port.
 * With `certificates` or `acme` the port serves TLS only (the certificate picked by SNI, as on the
 * HTTPS listener, reloads included; by ACME for a name no file covers), and the eight bytes are
 * read inside TLS. With `requestClientCertificates`
 * (an edge with `--cluster-ca`) the handshake asks for a client certificate without requiring one:
 * agents have none, and relays are checked once they say what they are (cluster-tls.ts).
 */
export function createAgentListener(
  handlers: AgentListenerHandlers,
  timeoutMs: number,
  logger: Logger,
  certificates?: CertificateStore,
  requestClientCertificates = false,
  acme?: AgentPortAcme,
): Server {
  if (!certificates && !acme) return createServer((socket) => sniff(socket, handlers, timeoutMs, logger, false));
  const sni = (servername: string, callback: (err: Error | null, ctx?: SecureContext) => void): void => {
    if (!acme || certificates?.matching(servername)) return callback(null, certificates?.contextFor(servername));
    acme.contextFor(servername).then(
      (context) => {
        const chosen = context ?? certificates?.contextFor(servername);
        callback(chosen ? null : new Error(`no certificate for ${servername}`), chosen);
      },
      (err: Error) => callback(err),
    );
  };
  return createServer((raw) => {
    // A TLSSocket per connection rather than a tls.Server: a client without SNI (one dialling an
    // IP address, as agents and edges often do) gets the first certificate as it is now, after
    // any reload; a tls.Server has a default certificate only when given one at creation.
    const socket = new TLSSocket(raw, {
      isServer: true,
      // With ACME alone there is no default: a client must send the name it dials (SNI).
      ...(certificates ? { secureContext: certificates.contextFor(undefined) } : {}),
      SNICallback: sni,
      // h2 for grpc-js, which offers it; data and relay connections offer no protocol.
      ALPNProtocols: ["h2"],
      ...(requestClientCertificates ? { requestCert: true, rejectUnauthorized: false } : {}),
    });
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    let handshaken = false;
    raw.on("error", () => undefined);
    socket.once("secure", () => {
      clearTimeout(timer);
      // What tls.Server does before its "secureConnection": http2 (grpc-js) waits for a socket
      // still marked as connecting, and a server-side socket would stay marked without this.
      (socket as TLSSocket & { secureConnecting: boolean }).secureConnecting = false;
      handshaken = true;
      sniff(socket, handlers, timeoutMs, logger, true);
    });
    // Scanners, plaintext agents, agents refusing the certificate: routine, and the agent says why.
    socket.on("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (!handshaken) logger.debug({ remote: raw.remoteAddress, code: err.code, err: err.message }, "agent port: TLS handshake failed");
      socket.destroy();
    });
  });
}

function sniff(socket: Socket, handlers: AgentListenerHandlers, timeoutMs: number, logger: Logger, secure: boolean): void {
  let buffered: Buffer = Buffer.alloc(0);
  const timer = setTimeout(() => socket.destroy(), timeoutMs);
  const onData = (chunk: Buffer) => {
    buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
    if (buffered.length < SNIFF_BYTES) return;
    clearTimeout(timer);
    socket.off("data", onData);
    socket.pause();
    const head = buffered.subarray(0, SNIFF_BYTES);
    if (head.equals(DATA_MAGIC) || head.equals(RELAY_MAGIC)) {
      const rest = buffered.subarray(SNIFF_BYTES);
      if (rest.length > 0) socket.unshift(rest);
      if (head.equals(DATA_MAGIC)) handlers.data(socket);
      else handlers.relay(socket);
      socket.resume();
    } else if (head.equals(H2_PREFACE_START)) {
      socket.unshift(buffered);
      handlers.grpc(socket);
    } else if (!secure && head[0] === TLS_HANDSHAKE_RECORD) {
      logger.debug({ remote: socket.remoteAddress }, "agent port: a TLS client, and this edge has no certificate; closing");
      socket.setTimeout(timeoutMs, () => socket.destroy());
      socket.end(NOT_TLS_ANSWER);
      socket.resume();
    } else {
      logger.debug({ remote: socket.remoteAddress }, "agent port: unknown protocol, closing");
      socket.destroy();
    }
  };
  socket.on("data", onData);
  socket.on("error", () => clearTimeout(timer));
  socket.on("close", () => clearTimeout(timer));
}
