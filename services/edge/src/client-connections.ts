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
  private readonly states = new WeakMap<object, ClientConnectionState>();

  /** A new connection: a socket, or an HTTP/2 session (one TLS connection, many streams). */
  accepted(socket: Socket | object): void {
    this.states.set(socket, { startedAt: Date.now() });
  }

  /**
   * An HTTP/2 request's `req.socket` (a stand-in for its stream) gets the state of the session
   * it came on: `conn.*` and `on_tcp_connect` are the connection's, not each stream's.
   */
  share(streamSocket: object, session: object): void {
    if (!this.states.has(streamSocket)) this.states.set(streamSocket, this.of(session));
  }

  of(socket: Socket | object): ClientConnectionState {
    let state = this.states.get(socket);
    if (!state) this.states.set(socket, (state = { startedAt: Date.now() }));
    return state;
  }
}
