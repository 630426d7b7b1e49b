/**
 * What edges say to each other fast: heartbeats, pool deltas, rate-limit counts. Two
 * implementations: NATS (a mesh) and in-process (one edge, or several edges in one process).
 * Subjects follow NATS rules: `.`-separated tokens, `*` matches one token, `>` the rest.
 * Delivery is at most once; everything built on the bus heals from missed messages.
 */
export interface Bus {
  /** Fire and forget; dropped while disconnected. */
  publish(subject: string, data: Uint8Array): void;
  /** Calls `handler` for every message on a matching subject until the returned function is called. */
  subscribe(subject: string, handler: (message: BusMessage) => void): () => void;
  /** Sends and waits for one reply; rejects on timeout or when nobody listens. */
  request(subject: string, data: Uint8Array, timeoutMs: number): Promise<Uint8Array>;
  /** True while messages can flow. */
  readonly connected: boolean;
  /** Hears connection changes; returns a function that stops listening. */
  onStatus(listener: (status: BusStatus) => void): () => void;
  /** Flushes what was published and disconnects. */
  close(): Promise<void>;
}

export interface BusMessage {
  readonly subject: string;
  readonly data: Uint8Array;
  /** Whether the sender waits for a reply (`request`), i.e. whether `respond` can answer. */
  readonly isRequest: boolean;
  /** Replies to a request; false when the message was not a request. */
  respond(data: Uint8Array): boolean;
}

export type BusStatus = { readonly kind: "connected"; readonly server: string } | { readonly kind: "disconnected"; readonly error: Error | undefined };
