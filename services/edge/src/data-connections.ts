import { decodeDataHello, MuxConnection, type MuxOptions } from "@onramp/mux";
import type { EdgeMetrics, Logger } from "@onramp/telemetry";
import { timingSafeEqual } from "node:crypto";
import type { Socket } from "node:net";
import type { AgentSession } from "./agent-session.js";

export interface DataConnectionOptions {
  sessionById(id: string): AgentSession | undefined;
  mux: MuxOptions;
  handshakeTimeoutMs: number;
  metrics: EdgeMetrics;
  logger: Logger;
}

/**
 * Takes an agent's data connection (its magic already read): the agent's HELLO names its session
 * and proves it with the session's data token; the connection then joins that session.
 */
export function acceptDataConnection(socket: Socket, options: DataConnectionOptions): void {
  const connection = new MuxConnection(socket, true, {}, options.mux);
  const timer = setTimeout(() => connection.destroy(new Error("no data hello in time")), options.handshakeTimeoutMs);
  connection.events.onHello = (payload) => {
    clearTimeout(timer);
    connection.events.onHello = undefined;
    let session: AgentSession | undefined;
    try {
      const hello = decodeDataHello(payload);
      session = options.sessionById(hello.sessionId);
      const token = Buffer.from(hello.dataToken);
      if (!session || session.ended || token.length !== session.dataToken.length || !timingSafeEqual(token, session.dataToken)) {
        session = undefined;
      }
    } catch {
      session = undefined;
    }
    if (!session) {
      options.logger.warn({ remote: connection.remoteAddress }, "data connection refused: unknown session or bad token");
      connection.destroy(new Error("data hello refused"));
      return;
    }
    connection.sendHello(new Uint8Array(0));
    session.addConnection(connection);
    options.metrics.dataConnections.inc();
    void connection.closed().then(() => options.metrics.dataConnections.dec());
  };
}
