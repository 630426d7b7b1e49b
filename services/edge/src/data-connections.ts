import { ErrorCode, OnrampError } from "@onramp/errors";
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
 * and proves it with the session's data token; the connection then joins that session. Until
 * then nothing is answered, and any other frame, or a hello over `maxHelloBytes`, closes it.
 */
export function acceptDataConnection(socket: Socket, options: DataConnectionOptions): void {
  const remote = `${socket.remoteAddress}:${socket.remotePort}`;
  const connection = new MuxConnection(socket, true, {}, options.mux, "accept");
  const timer = setTimeout(() => connection.destroy(new Error("no data hello in time")), options.handshakeTimeoutMs);
  let stage: "hello" | "refused" | "accepted" = "hello";
  connection.events.onClose = (error) => {
    clearTimeout(timer);
    if (stage === "hello") options.logger.warn({ remote, err: error?.message }, "data connection closed before its hello");
    // The agent broke the protocol or stopped reading what we sent: its session ends with this.
    else if (stage === "accepted" && isProtocolError(error)) options.logger.warn({ remote, err: error.message }, "data connection cut off");
  };
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
      stage = "refused";
      options.logger.warn({ remote }, "data connection refused: unknown session or bad token");
      connection.destroy(new Error("data hello refused"));
      return;
    }
    stage = "accepted";
    connection.accept(new Uint8Array(0));
    session.addConnection(connection);
    options.metrics.dataConnections.inc();
    void connection.closed().then(() => options.metrics.dataConnections.dec());
  };
}

function isProtocolError(error: Error | undefined): error is OnrampError {
  return error instanceof OnrampError && error.code === ErrorCode.ProtocolError;
}
