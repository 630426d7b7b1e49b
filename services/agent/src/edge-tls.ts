import { CallCredentials, ChannelCredentials } from "@grpc/grpc-js";
import { ErrorCode, OnrampError } from "@onramp/errors";
import { BlockList, connect as netConnect, isIP, type Socket } from "node:net";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import { connectionError, ConnectionFailure, transportFailure } from "./connection-problem.js";

/** How the agent verifies edges: `--edge-ca` (PEM text) and `--insecure-edge`. */
export interface EdgeTlsSettings {
  /** PEM certificates to verify edges with instead of the system CAs. */
  ca: string | undefined;
  /** Plaintext to every edge, loopback or not. */
  insecure: boolean;
}

/**
 * Whether the agent speaks TLS to `edge` (host:port):
 * - `--insecure-edge`: plaintext to every edge;
 * - a loopback edge (127.0.0.0/8, ::1, localhost, e.g. the embedded edge): TLS when `--edge-ca`
 *   is given, plaintext otherwise;
 * - any other edge: TLS, verified with `--edge-ca` or the system CAs.
 */
export function usesTls(edge: string, settings: EdgeTlsSettings): boolean {
  if (settings.insecure) return false;
  return settings.ca !== undefined || !isLoopbackHost(splitHostPort(edge)[0]);
}

/** 127.0.0.0/8, ::1 (also as ::ffff:127.x.y.z) and `localhost` or a name under it (RFC 6761 §6.3). */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, "").replace(/\.$/, "");
  if (h === "localhost" || h.endsWith(".localhost")) return true;
  const v4 = h.startsWith("::ffff:") ? h.slice(7) : h;
  if (isIP(v4) === 4) return LOOPBACK.check(v4, "ipv4");
  return isIP(h) === 6 && LOOPBACK.check(h, "ipv6");
}

const LOOPBACK = new BlockList();
LOOPBACK.addSubnet("127.0.0.0", 8, "ipv4");
LOOPBACK.addAddress("::1", "ipv6");

/**
 * A connection to the edge's agent port: plain TCP, or TLS verified as `usesTls` says. Rejects
 * with an EDGE_UNTRUSTED error (fatal) when the edge's certificate does not verify or the edge does
 * not speak TLS, else with a connection error the link retries.
 */
export function connectToEdge(edge: string, settings: EdgeTlsSettings, what: string): Promise<Socket> {
  const [host, port] = splitHostPort(edge);
  const secure = usesTls(edge, settings);
  const socket = secure ? tlsConnect({ host, port, ...tlsOptionsFor(host, settings) }) : netConnect({ host, port });
  return new Promise((resolve, reject) => {
    socket.once(secure ? "secureConnect" : "connect", () => resolve(socket));
    socket.once("error", (err) => {
      socket.destroy();
      reject(secure ? tlsError(err, edge, settings) : plainError(err, edge, what));
    });
  });
}

/**
 * Credentials for the control channel to `edge`: TLS as `connectToEdge` does it, or none. The
 * secure connector is Onramp's own rather than `credentials.createSsl`'s, so that the handshake
 * failure reaches `onFailure` as an Onramp error (grpc-js keeps only its text) and no IP address is
 * sent as SNI (RFC 6066 forbids it; Node warns).
 */
export function edgeCredentials(edge: string, settings: EdgeTlsSettings, onFailure: (error: OnrampError) => void): ChannelCredentials {
  if (!usesTls(edge, settings)) return ChannelCredentials.createInsecure();
  return new EdgeChannelCredentials(edge, settings, onFailure);
}

/** grpc-js's SecureConnector, which it does not export. */
type SecureConnector = ReturnType<ChannelCredentials["_createSecureConnector"]>;

class EdgeChannelCredentials extends ChannelCredentials {
  constructor(
    private readonly edge: string,
    private readonly settings: EdgeTlsSettings,
    private readonly onFailure: (error: OnrampError) => void,
  ) {
    super();
  }

  _isSecure(): boolean {
    return true;
  }

  _equals(other: ChannelCredentials): boolean {
    return other === this;
  }

  _createSecureConnector(_target: unknown, _options: unknown, callCredentials?: CallCredentials): SecureConnector {
    const [host] = splitHostPort(this.edge);
    return {
      connect: (socket: Socket) =>
        new Promise((resolve, reject) => {
          const tls: TLSSocket = tlsConnect({ socket, host, ...tlsOptionsFor(host, this.settings), ALPNProtocols: ["h2"] });
          tls.once("secureConnect", () => resolve({ socket: tls, secure: true }));
          tls.once("error", (err) => {
            const error = tlsError(err, this.edge, this.settings);
            this.onFailure(error);
            reject(err);
          });
        }),
      waitForReady: () => Promise.resolve(),
      getCallCredentials: () => callCredentials ?? CallCredentials.createEmpty(),
      destroy: () => undefined,
    };
  }
}

/** SNI only for a host name; the certificate is checked against the host (name or IP address) either way. */
function tlsOptionsFor(host: string, settings: EdgeTlsSettings): { servername?: string; ca?: string } {
  return { ...(isIP(host) === 0 ? { servername: host } : {}), ...(settings.ca !== undefined ? { ca: settings.ca } : {}) };
}

/** Certificate errors (OpenSSL's verify codes, as Node names them) that mean "signed by no CA the agent trusts". */
const UNTRUSTED = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_UNTRUSTED",
  "CERT_SIGNATURE_FAILURE",
  "CERT_CHAIN_TOO_LONG",
  "INVALID_CA",
]);

/** What a failed TLS handshake with an edge means: EDGE_UNTRUSTED when no retry can fix it, else a retryable connection error. */
export function tlsError(err: unknown, edge: string, settings: EdgeTlsSettings): OnrampError {
  const e = err as NodeJS.ErrnoException & { reason?: string };
  const code = e.code ?? "";
  const trust = settings.ca !== undefined ? "the CA of --edge-ca" : "the system CAs (pass the edge's CA with --edge-ca FILE)";
  const refuse = (why: string) => new OnrampError(ErrorCode.EdgeUntrusted, `refusing the edge at ${edge}: ${why}`, { cause: err });
  if (code === "CERT_HAS_EXPIRED") return refuse("its TLS certificate has expired (CERT_HAS_EXPIRED); the edge must renew it");
  if (code === "CERT_NOT_YET_VALID") return refuse("its TLS certificate is not valid yet (CERT_NOT_YET_VALID); check the clocks");
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") {
    return refuse(`its TLS certificate is not for ${splitHostPort(edge)[0]} (${e.reason ?? e.message}); connect with a name the certificate has`);
  }
  if (UNTRUSTED.has(code)) return refuse(`its TLS certificate is not signed by a CA the agent trusts (${code}); trusted: ${trust}`);
  if (/^(CERT_|ERR_TLS_CERT)/.test(code)) return refuse(`its TLS certificate was refused (${code}: ${e.message})`);
  if (/WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|HTTP_REQUEST|RECORD_LAYER_FAILURE/.test(code)) {
    return refuse("it does not speak TLS on its agent port; give the edge a certificate (--tls-cert and --tls-key), or pass --insecure-edge to connect in plaintext on a network you trust");
  }
  if (code === "ECONNRESET" && /before secure TLS connection/.test(e.message)) {
    const failure = new ConnectionFailure("tls", "the connection closed during the TLS handshake (an edge without a certificate does not speak TLS: give it --tls-cert and --tls-key, or pass --insecure-edge)", err);
    return connectionError(ErrorCode.AgentDisconnected, `TLS handshake with the edge at ${edge} failed: ${failure.reason}`, failure);
  }
  const failure = transportFailure(err);
  return connectionError(ErrorCode.AgentDisconnected, `connection to the edge at ${edge} failed: ${failure.reason}`, failure);
}

function plainError(err: unknown, edge: string, what: string): OnrampError {
  const failure = transportFailure(err);
  return connectionError(ErrorCode.AgentDisconnected, `${what} to ${edge} failed: ${failure.reason}`, failure);
}

export function splitHostPort(addr: string): [string, number] {
  const i = addr.lastIndexOf(":");
  return [addr.slice(0, i).replace(/^\[|\]$/g, ""), Number(addr.slice(i + 1))];
}
