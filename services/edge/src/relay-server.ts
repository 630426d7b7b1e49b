import { ErrorCode, OnrampError } from "@onramp/errors";
import { decodeRequestHead, decodeResponseHead, encodeRequestHead, MuxConnection, spliceStreams, type MuxOptions, type MuxStream } from "@onramp/mux";
import { endSpan, SpanKind, traceparentOf, type Logger, type Span, type Tracing } from "@onramp/telemetry";
import type { Socket } from "node:net";
import type { AgentSession } from "./agent-session.js";
import type { ClusterPeerCheck } from "./cluster-tls.js";
import { acceptorHello, verifyHello } from "./relay-auth.js";

export interface RelayServerOptions {
  edgeId: string;
  /** Undefined on an edge outside a mesh: relay connections are refused. */
  clusterSecret: string | undefined;
  /**
   * With `--cluster-ca`: the peer's client certificate must chain to the cluster CA, checked
   * before its hello is read. Undefined: the cluster secret alone authenticates the peer.
   */
  peerCheck?: ClusterPeerCheck;
  /** The session on this edge that holds `bindId`. */
  sessionFor(bindId: string): AgentSession | undefined;
  mux: MuxOptions;
  handshakeTimeoutMs: number;
  logger: Logger;
  /** A server span per relayed request, under the sending edge's span; undefined: heads pass untouched. */
  tracing?: Tracing;
  /** Called for every stream another edge relays here (metrics). */
  onStream?(): void;
  onConnection?(connection: MuxConnection): void;
}

/**
 * Takes a relay connection from another edge (its first bytes, the relay magic, already read):
 * checks its hello against the cluster secret, answers with this edge's proof, then carries each
 * stream it opens to the agent session holding the request's bind, byte for byte. The policy
 * already ran on the edge that received the request; nothing here looks inside the exchange.
 * Before the hello checks out nothing is answered, and any other frame closes the connection.
 */
export function acceptRelayConnection(socket: Socket, options: RelayServerOptions): void {
  const { logger, clusterSecret } = options;
  const remote = `${socket.remoteAddress}:${socket.remotePort}`;
  if (!clusterSecret) {
    logger.warn({ remote }, "relay connection refused: this edge is not in a mesh (no --cluster-secret)");
    socket.destroy();
    return;
  }
  const refused = options.peerCheck?.(socket);
  if (refused !== undefined) {
    logger.warn({ remote, err: refused }, "relay connection refused: no valid cluster certificate");
    socket.destroy();
    return;
  }
  const connection = new MuxConnection(socket, false, {}, options.mux, "accept");
  const timer = setTimeout(() => connection.destroy(new Error("no relay hello in time")), options.handshakeTimeoutMs);
  let stage: "hello" | "refused" | "accepted" = "hello";
  let peer: string | undefined;
  connection.events.onClose = (error) => {
    clearTimeout(timer);
    if (stage === "hello") logger.warn({ remote, err: error?.message }, "relay connection closed before its hello");
    else if (stage === "accepted" && error instanceof OnrampError && error.code === ErrorCode.ProtocolError) {
      logger.warn({ peer, remote, err: error.message }, "relay connection cut off");
    }
  };
  connection.events.onHello = (payload) => {
    clearTimeout(timer);
    connection.events.onHello = undefined;
    const hello = verifyHello(clusterSecret, payload);
    if (!hello) {
      stage = "refused";
      logger.warn({ remote }, "relay connection refused: bad hello (wrong cluster secret or clock skew)");
      connection.destroy(new Error("relay hello refused"));
      return;
    }
    stage = "accepted";
    peer = hello.edgeId;
    connection.accept(acceptorHello(clusterSecret, options.edgeId, hello.nonce));
    connection.events.onStream = (stream, head, endStream) => relayStream(stream, head, endStream, options);
    logger.info({ peer: hello.edgeId, remote }, "relay accepted");
    options.onConnection?.(connection);
  };
}

function relayStream(inbound: MuxStream, headBytes: Buffer | Uint8Array, endStream: boolean, options: RelayServerOptions): void {
  options.onStream?.();
  let head;
  try {
    head = decodeRequestHead(headBytes);
  } catch {
    inbound.reset(ErrorCode.ProtocolError, "undecodable request head");
    return;
  }
  const bindId = head.bindId;
  let span: Span | undefined;
  if (options.tracing) {
    const h = head;
    span = options.tracing.start("relay", SpanKind.SERVER, head.traceparent || undefined, () => ({
      "http.request.method": h.method,
      "onramp.edge.id": options.edgeId,
      "onramp.endpoint.id": h.endpointId,
      "onramp.bind.id": bindId,
    }));
    // The agent's span goes under this edge's: the head is re-encoded with this span as the parent
    // (an unsampled trace's context goes on unchanged, and the span records nothing to end).
    const traceparent = traceparentOf(span);
    if (traceparent !== head.traceparent) headBytes = encodeRequestHead({ ...head, traceparent });
    if (!span.isRecording()) span = undefined;
  }
  const connection = options.sessionFor(bindId)?.pickConnection();
  if (!connection) {
    inbound.reset(ErrorCode.EndpointOffline, `the agent is no longer connected to edge ${options.edgeId}`);
    if (span) endSpan(span, undefined, ErrorCode.EndpointOffline, true);
    return;
  }
  let outbound: MuxStream;
  try {
    outbound = connection.openStream(headBytes, endStream, {}, !head.upgrade);
  } catch {
    // Never sent to the agent: safe for the other edge to retry elsewhere, whatever the method.
    inbound.reset(ErrorCode.EndpointOffline, `the agent's connection to edge ${options.edgeId} is closing`);
    if (span) endSpan(span, undefined, ErrorCode.EndpointOffline, true);
    return;
  }
  spliceStreams(inbound, outbound);
  if (span) traceSplice(span, inbound, outbound);
}

/** Ends the relay span when the exchange ends: the response done, or either side reset. */
function traceSplice(span: Span, inbound: MuxStream, outbound: MuxStream): void {
  let status: number | undefined;
  let ended = false;
  const end = (code: string | undefined) => {
    if (ended) return;
    ended = true;
    endSpan(span, status, code, true);
  };
  const out = outbound.handler;
  const onHead = out.onHead!;
  const onEnd = out.onEnd!;
  const onReset = out.onReset!;
  const inReset = inbound.handler.onReset!;
  out.onHead = (payload, endStream) => {
    onHead(payload, endStream);
    try {
      status = decodeResponseHead(payload).status;
    } catch {
      // The agent's problem is the other edge's to report; the span just has no status.
    }
    if (endStream) end(undefined);
  };
  out.onEnd = (trailers) => {
    onEnd(trailers);
    end(undefined);
  };
  out.onReset = (code, message) => {
    onReset(code, message);
    end(code);
  };
  inbound.handler.onReset = (code, message) => {
    inReset(code, message);
    end(code);
  };
}
