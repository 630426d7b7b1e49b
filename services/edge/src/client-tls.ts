import type { ConnTls } from "@onramp/policy";
import type { Server as TlsServer, TLSSocket } from "node:tls";

/** `TLSv1.3` → `1.3`, as ngrok's variables and terminate-tls's `min_version` write versions. */
function versionOf(protocol: string | null): string {
  return protocol?.replace(/^TLSv/, "") ?? "";
}

const cache = new WeakMap<object, ConnTls | null>();

/**
 * The TLS of a client connection for the policy (`conn.tls.*`, terminate-tls), read from its socket
 * on first use and kept for the connection's life (a handshake is done once; renegotiation is off
 * in Node). Undefined for plaintext. `socket` may be node:http2's stand-in for the session's socket,
 * which forwards these calls, so it is duck-typed rather than checked with instanceof.
 */
export function clientTlsOf(socket: object): ConnTls | undefined {
  let tls = cache.get(socket);
  if (tls === undefined) {
    tls = null;
    const s = socket as Partial<TLSSocket>;
    if (s.encrypted === true && typeof s.getProtocol === "function") {
      tls = {
        version: versionOf(s.getProtocol()),
        cipherSuite: s.getCipher?.().standardName ?? "",
        sni: typeof s.servername === "string" ? s.servername : "",
        clientCertificates: chainOf(s),
      };
    }
    cache.set(socket, tls);
  }
  return tls ?? undefined;
}

/** The client's certificate and any it sent after it, DER, leaf first; empty when it sent none. */
function chainOf(socket: Partial<TLSSocket>): Uint8Array[] {
  const chain: Uint8Array[] = [];
  const seen = new Set<string>();
  let cert = socket.getPeerCertificate?.(true);
  // A self-signed certificate is its own issuer; the walk stops at a repeat.
  while (cert?.raw && !seen.has(cert.fingerprint256) && chain.length < 4) {
    seen.add(cert.fingerprint256);
    chain.push(new Uint8Array(cert.raw));
    cert = cert.issuerCertificate;
  }
  return chain;
}

/**
 * Makes `server` ask every new client for a certificate, without requiring one: a terminate-tls
 * action with mutual TLS decides per endpoint (docs/traffic-policy.md). tls.Server (and node:http2's
 * secure server, one of them) reads these two properties at each connection, so it takes effect for
 * the next handshake. Browsers that hold client certificates may then show a picker, which is why
 * the listener does not ask unless a policy needs it. Returns false when it already asked.
 */
export function askForClientCertificates(server: TlsServer): boolean {
  const s = server as TlsServer & { requestCert?: boolean; rejectUnauthorized?: boolean };
  if (s.requestCert === true && s.rejectUnauthorized === false) return false;
  s.requestCert = true;
  s.rejectUnauthorized = false;
  return true;
}
