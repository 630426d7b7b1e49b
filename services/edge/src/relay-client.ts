import { ErrorCode, OnrampError } from "@onramp/errors";
import { MuxConnection, RELAY_MAGIC, type MuxOptions } from "@onramp/mux";
import type { EdgeMetrics, Logger } from "@onramp/telemetry";
import { connect, isIP, type Socket } from "node:net";
import { checkServerIdentity, connect as tlsConnect, type PeerCertificate } from "node:tls";
import { dialerHello, verifyHello } from "./relay-auth.js";
import type { StreamOpener } from "./routing-table.js";

export interface RelayClientOptions {
  edgeId: string;
  clusterSecret: string;
  /**
   * Dial peers over TLS, verifying their certificates with `ca` (PEM; default the system CAs).
   * A peer's certificate must be valid for the host of its advertise address, or name one of the
   * DNS names of `ownNames` (this edge's own certificates: edges of one mesh often share one
   * certificate and advertise private IP addresses). Undefined: plaintext. The cluster secret
   * authenticates both ends either way. `clientCertificate` (PEM, read at each dial so a renewed
   * one is used) is presented when the peer asks for one, as a peer with `--cluster-ca` does.
   */
  tls?: { ca: string | undefined; ownNames?: () => readonly string[]; clientCertificate?: () => { cert: string; key: string } | undefined };
  /** Where another edge takes relay connections (its advertise address), if known. */
  addressOf(edge: string): string | undefined;
  mux: MuxOptions;
  handshakeTimeoutMs: number;
  logger: Logger;
  /** The relay to `edge` takes streams now (its members are ready). */
  onConnected?(edge: string): void;
  /** Counts relayed streams, relay connections and their bytes. Default: nothing is counted. */
  metrics?: EdgeMetrics;
}

interface Link {
  connection: MuxConnection | undefined;
  /** The connection as requests use it: each stream opened on it is counted. */
  requests: StreamOpener | undefined;
  dialing: boolean;
  failures: number;
  retryAt: number;
}

/** First retry after a failed dial 100 ms, doubling to 5 s: quick after a blip, quiet towards a dead edge. */
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 5_000;
/** A forgotten peer's requests in flight get this long, like an edge's default drain timeout. */
const FORGET_DRAIN_MS = 10_000;

/**
 * Relay connections from this edge to the others: one long-lived multiplexed connection per peer,
 * dialled on first need (or when a peer's members appear), authenticated with the cluster secret,
 * and carrying every request this edge sends to members connected there, each on its own stream
 * with its own credit window.
 */
export class RelayClient {
  private readonly links = new Map<string, Link>();
  private closed = false;
  private readonly streamsOut: { inc(): void } | undefined;
  private readonly connectionsOut: { inc(): void; dec(): void } | undefined;
  /** Bytes of the connections already closed; those of open ones are read off their sockets. */
  private readonly closedBytes = { sent: 0, received: 0 };
  private readonly openSockets = new Set<Socket>();

  constructor(private readonly options: RelayClientOptions) {
    const { metrics } = options;
    this.streamsOut = metrics?.relayStreams.labels("outbound");
    this.connectionsOut = metrics?.relayConnections.labels("outbound");
    metrics?.countRelayBytes((add) => {
      const { sent, received } = this.bytes();
      add({ direction: "sent" }, sent);
      add({ direction: "received" }, received);
    });
  }

  /**
   * The connection to `edge` if it takes streams now; otherwise starts dialing and returns
   * undefined. A connection silent past its ping (the peer may be hung) takes nothing new.
   */
  opener(edge: string): MuxConnection | undefined {
    const link = this.links.get(edge);
    if (link?.connection?.acceptsNewStreams) return link.connection.overdue ? undefined : link.connection;
    this.dial(edge);
    return undefined;
  }

  /**
   * Like `opener`, for requests to members on `edge`: streams opened on it count as relayed
   * (`onramp_edge_relay_streams_total{direction="outbound"}`).
   */
  requestOpener(edge: string): StreamOpener | undefined {
    if (!this.opener(edge)) return undefined;
    return this.links.get(edge)?.requests;
  }

  /** Bytes sent and received on every relay connection this client dialled, closed ones included. */
  bytes(): { sent: number; received: number } {
    let { sent, received } = this.closedBytes;
    for (const socket of this.openSockets) {
      sent += socket.bytesWritten;
      received += socket.bytesRead;
    }
    return { sent, received };
  }

  /** Peers with a live relay connection, for the admin API. */
  connectedPeers(): string[] {
    return [...this.links].filter(([, l]) => l.connection && !l.connection.isClosed).map(([id]) => id);
  }

  /**
   * Forgets a peer that left the mesh. Its connection takes no new streams and is closed once
   * those in flight are done: a peer that is leaving finishes them, and a dead or hung one fails
   * them within its idle timeout (missed pings).
   */
  forget(edge: string): void {
    const link = this.links.get(edge);
    this.links.delete(edge);
    void link?.connection?.drain(FORGET_DRAIN_MS);
  }

  close(): void {
    this.closed = true;
    for (const link of this.links.values()) link.connection?.destroy(undefined);
    this.links.clear();
  }

  private dial(edge: string): void {
    if (this.closed) return;
    let link = this.links.get(edge);
    if (!link) this.links.set(edge, (link = { connection: undefined, requests: undefined, dialing: false, failures: 0, retryAt: 0 }));
    if (link.dialing || Date.now() < link.retryAt) return;
    const address = this.options.addressOf(edge);
    if (!address) return;
    link.dialing = true;
    const l = link;
    this.connect(edge, address).then(
      ({ connection, socket }) => {
        l.dialing = false;
        l.failures = 0;
        if (this.closed || this.links.get(edge) !== l) return connection.destroy(undefined);
        l.connection = connection;
        l.requests = this.counted(connection);
        this.openSockets.add(socket);
        this.connectionsOut?.inc();
        this.options.logger.info({ peer: edge, address }, "relay connected");
        this.options.onConnected?.(edge);
        void connection.closed().then(() => {
          this.connectionsOut?.dec();
          this.openSockets.delete(socket);
          this.closedBytes.sent += socket.bytesWritten;
          this.closedBytes.received += socket.bytesRead;
          if (l.connection === connection) l.connection = l.requests = undefined;
          if (!this.closed) this.options.logger.info({ peer: edge }, "relay connection closed");
        });
      },
      (err: Error) => {
        l.dialing = false;
        l.failures++;
        l.retryAt = Date.now() + Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (l.failures - 1));
        this.options.logger.warn({ peer: edge, address, err: err.message }, "relay connection failed");
      },
    );
  }

  /** `connection` as requests open streams on it; made once per connection, so opening one allocates nothing more. */
  private counted(connection: MuxConnection): StreamOpener {
    const streams = this.streamsOut;
    if (!streams) return connection;
    return {
      openStream: (head, endStream, handler, lend) => {
        const stream = connection.openStream(head, endStream, handler, lend);
        streams.inc();
        return stream;
      },
    };
  }

  private connect(edge: string, address: string): Promise<{ connection: MuxConnection; socket: Socket }> {
    const { clusterSecret, edgeId, handshakeTimeoutMs, mux } = this.options;
    const i = address.lastIndexOf(":");
    const host = address.slice(0, i).replace(/^\[|\]$/g, "");
    const port = Number(address.slice(i + 1));
    const tls = this.options.tls;
    const socket = tls
      ? tlsConnect({
          host,
          port,
          ...(isIP(host) === 0 ? { servername: host } : {}),
          ...(tls.ca !== undefined ? { ca: tls.ca } : {}),
          ...tls.clientCertificate?.(),
          checkServerIdentity: (name, cert) => {
            const problem = checkServerIdentity(name, cert);
            return problem && sharesName(cert, tls.ownNames?.() ?? []) ? undefined : problem;
          },
        })
      : connect({ host, port });
    return new Promise((resolve, reject) => {
      const fail = (why: string) => {
        clearTimeout(timer);
        socket.destroy();
        reject(new OnrampError(ErrorCode.RelayFailed, `relay to edge ${edge} at ${address}: ${why}`));
      };
      const timer = setTimeout(() => fail(`no answer within ${handshakeTimeoutMs} ms`), handshakeTimeoutMs);
      socket.once("error", (err: NodeJS.ErrnoException) => fail(tls ? relayTlsProblem(err) : err.message));
      socket.once(tls ? "secureConnect" : "connect", () => {
        socket.write(RELAY_MAGIC);
        const connection = new MuxConnection(socket, true, {}, mux, "dial");
        const hello = dialerHello(clusterSecret, edgeId);
        connection.events.onHello = (payload) => {
          connection.events.onHello = undefined;
          const answer = verifyHello(clusterSecret, payload, hello.nonce);
          if (!answer || answer.edgeId !== edge) {
            connection.destroy(undefined);
            return fail(answer ? `it says it is edge ${answer.edgeId}` : "its hello did not verify (is --cluster-secret the same on every edge?)");
          }
          clearTimeout(timer);
          resolve({ connection, socket });
        };
        const why = tls
          ? "closed during the handshake (is --cluster-secret the same on every edge, and does this edge have a certificate from the peer's --cluster-ca: --cluster-cert and --cluster-key?)"
          : "closed during the handshake (is --cluster-secret the same on every edge?)";
        void connection.closed().then(() => fail(why));
        connection.sendHello(hello.payload);
      });
    });
  }
}

/** A failed TLS dial to a peer, in words that say what to fix. */
function relayTlsProblem(err: NodeJS.ErrnoException): string {
  const code = err.code ?? "";
  if (/WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG/.test(code) || (code === "ECONNRESET" && /before secure TLS/.test(err.message))) {
    return "it does not speak TLS on its agent port; every edge of a mesh needs a certificate, or none does";
  }
  if (/^(CERT_|ERR_TLS_CERT|UNABLE_TO|SELF_SIGNED|DEPTH_ZERO)/.test(code)) {
    return `its TLS certificate does not verify (${code}: ${err.message}); give this edge the peers' CA with --cluster-ca and put each edge's advertise host on its certificate`;
  }
  return err.message;
}

/** Whether the certificate's subjectAltName has one of `names` as a DNS entry, as written (`*.example.com` matches only itself). */
function sharesName(cert: PeerCertificate, names: readonly string[]): boolean {
  const own = new Set(names.map((n) => n.toLowerCase()));
  return (cert.subjectaltname ?? "")
    .split(/,\s*/)
    .some((entry) => entry.startsWith("DNS:") && own.has(entry.slice(4).toLowerCase()));
}
