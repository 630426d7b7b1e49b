import type { Socket } from "node:net";

/** What the edge remembers about one client connection. */
export interface ClientConnectionState {
  /** When the connection was accepted (`conn.ts.start` in policies). */
  readonly startedAt: number;
  /** Endpoints whose `on_tcp_connect` phase already ran (and allowed) on this connection. */
  tcpPhaseDone?: Set<string>;
}

/**
 * Per-connection state of one ingress listener, owned by that listener (not a module-level map):
 * state lives exactly as long as its socket.
 */
export class ClientConnections {
  private readonly states = new WeakMap<Socket, ClientConnectionState>();

  accepted(socket: Socket): void {
    this.states.set(socket, { startedAt: Date.now() });
  }

  of(socket: Socket): ClientConnectionState {
    let state = this.states.get(socket);
    if (!state) this.states.set(socket, (state = { startedAt: Date.now() }));
    return state;
  }
}
