import type { Logger } from "@onramp/telemetry";
import { createServer, type Server, type Socket } from "node:net";
import { DATA_MAGIC, RELAY_MAGIC } from "@onramp/mux";

/** The HTTP/2 connection preface every gRPC client starts with (RFC 9113 §3.4). */
const H2_PREFACE_START = Buffer.from("PRI * HT", "latin1");
const SNIFF_BYTES = 8;

export interface AgentListenerHandlers {
  /** A connection that began with the HTTP/2 preface: hand it to the gRPC server. */
  grpc(socket: Socket): void;
  /** A connection that began with the data magic (already consumed). */
  data(socket: Socket): void;
  /** A relay connection from another edge, begun with the relay magic (already consumed). */
  relay(socket: Socket): void;
}

/**
 * One port for agents and other edges: the first eight bytes tell a gRPC control connection
 * from a data connection or a relay connection, so operators open and firewall a single port.
 */
export function createAgentListener(handlers: AgentListenerHandlers, timeoutMs: number, logger: Logger): Server {
  return createServer((socket) => {
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
      } else {
        logger.debug({ remote: socket.remoteAddress }, "agent port: unknown protocol, closing");
        socket.destroy();
      }
    };
    socket.on("data", onData);
    socket.on("error", () => clearTimeout(timer));
  });
}
