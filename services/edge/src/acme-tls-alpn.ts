import type { Logger } from "@onramp/telemetry";
import type { Socket } from "node:net";
import { createServer, type SecureContext, type Server as TlsServer } from "node:tls";

/** RFC 8737 §6.2: the ALPN protocol of a TLS-ALPN-01 validation. */
export const ACME_TLS_ALPN = "acme-tls/1";

/** A ClientHello fits one TLS record: at most 2^14 bytes of payload after the 5-byte header. */
const MAX_RECORD = 5 + 16_384;

/**
 * Whether a TLS record holding a ClientHello offers `protocol` by ALPN (RFC 7301); false for
 * anything that does not parse as one, which then goes to the ordinary listener.
 */
export function offersAlpn(record: Buffer, protocol: string): boolean {
  let at = 0;
  const need = (n: number) => at + n <= record.length;
  const u8 = () => record[at++]!;
  const u16 = () => ((record[at++]! << 8) | record[at++]!) >>> 0;
  // Record header: handshake (22), version, length; then handshake type ClientHello (1), length (3).
  if (!need(9) || u8() !== 22) return false;
  at = 5;
  if (u8() !== 1) return false;
  at += 3 + 2 + 32; // length, client_version, random
  if (!need(1)) return false;
  at += 1 + record[at]!; // session_id
  if (!need(2)) return false;
  const cipherSuites = u16();
  at += cipherSuites;
  if (!need(1)) return false;
  at += 1 + record[at]!; // compression_methods
  if (!need(2)) return false;
  const end = Math.min(record.length, at + 2 + ((record[at]! << 8) | record[at + 1]!));
  at += 2;
  while (at + 4 <= end) {
    const type = u16();
    const length = u16();
    if (type === 16 && at + length <= end) {
      let p = at + 2;
      while (p < at + length) {
        const n = record[p]!;
        if (record.toString("latin1", p + 1, p + 1 + n) === protocol) return true;
        p += 1 + n;
      }
      return false;
    }
    at += length;
  }
  return false;
}

/**
 * Answers TLS-ALPN-01 validations on the public HTTPS listener: each connection's first record is
 * read before TLS starts, and one whose ClientHello offers `acme-tls/1` is handed to a separate
 * TLS server that presents the challenge certificate for its SNI name (and nothing else), so the
 * listener's own handshakes never see a challenge certificate, even while a served name renews.
 */
export function answerTlsAlpnChallenges(server: TlsServer, challengeFor: (servername: string) => Promise<SecureContext | undefined>, handshakeTimeoutMs: number, logger: Logger): void {
  const tlsListeners = server.listeners("connection") as ((socket: Socket) => void)[];
  server.removeAllListeners("connection");
  const challenges = createServer({
    ALPNProtocols: [ACME_TLS_ALPN],
    handshakeTimeout: handshakeTimeoutMs,
    SNICallback: (servername, callback) => {
      challengeFor(servername).then(
        (context) => (context ? callback(null, context) : callback(new Error(`no TLS-ALPN-01 challenge pending for ${servername}`))),
        (err: Error) => callback(err),
      );
    },
  });
  // RFC 8737 §3: the validator closes after the handshake; nothing is ever served here.
  challenges.on("secureConnection", (socket) => socket.end());
  challenges.on("tlsClientError", (err) => logger.debug({ err: err.message }, "TLS-ALPN-01 validation handshake failed"));
  server.on("connection", (socket: Socket) => {
    let head = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(), handshakeTimeoutMs);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const complete = head.length >= 5 && (head[0] !== 22 || head.length >= Math.min(MAX_RECORD, 5 + head.readUInt16BE(3)));
      if (!complete) return;
      socket.off("data", onData);
      socket.off("error", onError);
      clearTimeout(timer);
      socket.pause();
      socket.unshift(head);
      if (offersAlpn(head, ACME_TLS_ALPN)) challenges.emit("connection", socket);
      else for (const listener of tlsListeners) listener.call(server, socket);
    };
    const onError = () => {
      clearTimeout(timer);
      socket.destroy();
    };
    socket.on("data", onData);
    socket.on("error", onError);
    socket.once("close", () => clearTimeout(timer));
  });
}
