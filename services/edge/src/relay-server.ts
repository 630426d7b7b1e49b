import { ErrorCode } from "@onramp/errors";
import { decodeRequestHead, MuxConnection, spliceStreams, type MuxOptions, type MuxStream } from "@onramp/mux";
import type { Logger } from "@onramp/telemetry";
import type { Socket } from "node:net";
import type { AgentSession } from "./agent-session.js";
import { acceptorHello, verifyHello } from "./relay-auth.js";

export interface RelayServerOptions {
  edgeId: string;
  /** Undefined on an edge outside a mesh: relay connections are refused. */
  clusterSecret: string | undefined;
  /** The session on this edge that holds `bindId`. */
  sessionFor(bindId: string): AgentSession | undefined;
  mux: MuxOptions;
  handshakeTimeoutMs: number;
  logger: Logger;
  onConnection?(connection: MuxConnection): void;
}

/**
 * Takes a relay connection from another edge (its first bytes, the relay magic, already read):
 * checks its hello against the cluster secret, answers with this edge's proof, then carries each
 * stream it opens to the agent session holding the request's bind, byte for byte. The policy
 * already ran on the edge that received the request; nothing here looks inside the exchange.
 */
export function acceptRelayConnection(socket: Socket, options: RelayServerOptions): void {
  const { logger, clusterSecret } = options;
  const remote = `${socket.remoteAddress}:${socket.remotePort}`;
  if (!clusterSecret) {
    logger.warn({ remote }, "relay connection refused: this edge is not in a mesh (no --cluster-secret)");
    socket.destroy();
    return;
  }
  const connection = new MuxConnection(socket, false, {}, options.mux);
  const timer = setTimeout(() => connection.destroy(new Error("no relay hello in time")), options.handshakeTimeoutMs);
  connection.events.onHello = (payload) => {
    clearTimeout(timer);
    connection.events.onHello = undefined;
    const hello = verifyHello(clusterSecret, payload);
    if (!hello) {
      logger.warn({ remote }, "relay connection refused: bad hello (wrong cluster secret or clock skew)");
      connection.destroy(new Error("relay hello refused"));
      return;
    }
    connection.sendHello(acceptorHello(clusterSecret, options.edgeId, hello.nonce));
    connection.events.onStream = (stream, head, endStream) => relayStream(stream, head, endStream, options);
    logger.info({ peer: hello.edgeId, remote }, "relay accepted");
    options.onConnection?.(connection);
  };
}

function relayStream(inbound: MuxStream, head: Buffer, endStream: boolean, options: RelayServerOptions): void {
  let bindId: string;
  try {
    bindId = decodeRequestHead(head).bindId;
  } catch {
    inbound.reset(ErrorCode.ProtocolError, "undecodable request head");
    return;
  }
  const connection = options.sessionFor(bindId)?.pickConnection();
  if (!connection) {
    inbound.reset(ErrorCode.EndpointOffline, `the agent is no longer connected to edge ${options.edgeId}`);
    return;
  }
  let outbound: MuxStream;
  try {
    outbound = connection.openStream(head, endStream, {});
  } catch {
    // Never sent to the agent: safe for the other edge to retry elsewhere, whatever the method.
    inbound.reset(ErrorCode.EndpointOffline, `the agent's connection to edge ${options.edgeId} is closing`);
    return;
  }
  spliceStreams(inbound, outbound);
}
