import {
  connect,
  RequestError,
  TimeoutError,
  type Msg,
  type NatsConnection,
  type NodeConnectionOptions,
  type Subscription,
} from "@nats-io/transport-node";
import { ErrorCode, OnrampError } from "@onramp/errors";
import type { Bus, BusMessage, BusStatus } from "./bus.js";
import { guarded } from "./guarded.js";

export interface NatsBusOptions {
  /**
   * Servers to dial, e.g. `nats://127.0.0.1:4222`. One is enough: the client learns the other
   * members of the cluster from the server it reaches and fails over to them.
   */
  readonly servers: readonly string[];
  /** Shown by the server's monitoring (`/connz`); the edge id is a good choice. */
  readonly name?: string;
  /**
   * 2 s. With `maxPingOut` 2, a server that stops answering (a hung host, a dropped route
   * without a reset) is noticed within ~6 s; nats.js's defaults (2 min × 2) take 4–6 min.
   */
  readonly pingIntervalMs?: number;
  /** 2: pings left unanswered before the connection counts as dead. */
  readonly maxPingOut?: number;
  /** 250 ms between reconnect rounds (nats.js: 2 s), so a failover to another server is quick. */
  readonly reconnectTimeWaitMs?: number;
  /** Up to 100 ms added at random to each wait, so edges do not reconnect in lockstep. */
  readonly reconnectJitterMs?: number;
  /** 5 s for one dial and handshake; a server that accepts but never answers is given up on then. */
  readonly connectTimeoutMs?: number;
  /** 2 s for `close()` to flush what is buffered before it disconnects regardless. */
  readonly closeTimeoutMs?: number;
}

interface ResolvedOptions {
  readonly servers: readonly string[];
  readonly maxPingOut: number;
  readonly reconnectTimeWaitMs: number;
  readonly reconnectJitterMs: number;
  readonly closeTimeoutMs: number;
  /** What nats.js is given, decided once. */
  readonly nats: NodeConnectionOptions;
}

interface Registration {
  readonly subject: string;
  readonly handler: (message: BusMessage) => void;
  sub: Subscription | undefined;
}

type State = "connecting" | "connected" | "disconnected" | "closed";

/**
 * The mesh bus over NATS core pub/sub and request/reply (no JetStream: the servers here are 2.9).
 *
 * Resolves at once with a bus that connects in the background, so an edge starts while NATS is
 * down and falls back to etcd watches until `connected` turns true. Publishes are dropped and
 * requests rejected while disconnected; subscriptions made at any time take effect once
 * connected and survive reconnects. Rejects only for bad options.
 */
export async function createNatsBus(options: NatsBusOptions): Promise<Bus> {
  const opts = resolveOptions(options);
  const registrations = new Set<Registration>();
  const listeners = new Set<(status: BusStatus) => void>();
  let state: State = "connecting";
  // A function, so TypeScript does not narrow `state` across awaits that may change it.
  const isClosed = (): boolean => state === "closed";
  let nc: NatsConnection | undefined;
  let cancelWait: (() => void) | undefined;

  const emit = (status: BusStatus): void => {
    for (const listener of listeners) guarded(() => listener(status));
  };
  const setConnected = (server: string): void => {
    if (state === "closed") return;
    state = "connected";
    emit({ kind: "connected", server });
  };
  const setDisconnected = (error: Error | undefined): void => {
    if (state === "closed" || state === "disconnected") return;
    state = "disconnected";
    emit({ kind: "disconnected", error });
  };

  const attach = (c: NatsConnection): void => {
    nc = c;
    for (const r of registrations) r.sub = subscribeOn(c, r);
    setConnected(c.getServer());
    void watchStatus(c);
    void c.closed().then((err) => {
      if (state === "closed") return;
      // Closed by the client itself (e.g. an authorization error): start over with a new connection.
      nc = undefined;
      setDisconnected(err instanceof Error ? err : undefined);
      connecting = connectLoop();
    });
  };

  const watchStatus = async (c: NatsConnection): Promise<void> => {
    let lastError: Error | undefined;
    for await (const s of c.status()) {
      if (s.type === "staleConnection") lastError = new OnrampError(ErrorCode.Internal, `no answer to ${opts.maxPingOut} pings from ${c.getServer()}`);
      else if (s.type === "error") lastError = OnrampError.from(s.error, ErrorCode.Internal);
      else if (s.type === "disconnect") setDisconnected(lastError);
      else if (s.type === "reconnect") {
        lastError = undefined;
        setConnected(s.server);
      }
    }
  };

  // The first connection is ours to retry: nats.js's `waitOnFirstConnect` retries forever inside
  // `connect()` and hands out no connection to close, so a bus closed before NATS came up would
  // keep dialing. Without it, `connect()` tries each server once and rejects; after the first
  // success nats.js reconnects by itself (maxReconnectAttempts -1).
  const connectLoop = async (): Promise<void> => {
    while (!isClosed()) {
      try {
        const c = await connect(opts.nats);
        if (isClosed()) {
          await c.close();
          return;
        }
        attach(c);
        return;
      } catch (err) {
        setDisconnected(OnrampError.from(err, ErrorCode.Internal, `cannot reach NATS at ${opts.servers.join(", ")}`));
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, opts.reconnectTimeWaitMs + Math.random() * opts.reconnectJitterMs);
          cancelWait = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        cancelWait = undefined;
      }
    }
  };
  let connecting = connectLoop();

  return {
    get connected() {
      return state === "connected";
    },
    publish(subject, data) {
      checkSubject(subject);
      if (state !== "connected" || nc === undefined) return;
      try {
        nc.publish(subject, data);
      } catch {
        // Closed or draining under us: dropped, as while disconnected.
      }
    },
    subscribe(subject, handler) {
      checkSubject(subject);
      const r: Registration = { subject, handler, sub: undefined };
      // Subscribing on a connection that is reconnecting is fine: nats.js resends it on reconnect.
      if (nc !== undefined) r.sub = subscribeOn(nc, r);
      registrations.add(r);
      return () => {
        if (!registrations.delete(r)) return;
        if (r.sub !== undefined && !r.sub.isClosed()) r.sub.unsubscribe();
      };
    },
    async request(subject, data, timeoutMs) {
      if (state !== "connected" || nc === undefined) {
        throw new OnrampError(ErrorCode.Internal, `the bus is not connected; no request on ${subject}`);
      }
      try {
        return (await nc.request(subject, data, { timeout: timeoutMs })).data;
      } catch (err) {
        if (err instanceof TimeoutError) throw new OnrampError(ErrorCode.Internal, `no reply on ${subject} within ${timeoutMs} ms`, { cause: err });
        if (err instanceof RequestError && err.isNoResponders()) throw new OnrampError(ErrorCode.Internal, `no responders on ${subject}`, { cause: err });
        throw OnrampError.from(err, ErrorCode.Internal, `request on ${subject} failed`);
      }
    },
    onStatus(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      if (state === "closed") return;
      state = "closed";
      listeners.clear();
      registrations.clear();
      cancelWait?.();
      await withDeadline(connecting, opts.closeTimeoutMs);
      const c = nc;
      nc = undefined;
      if (c === undefined || c.isClosed()) return;
      // Drain sends what is buffered and waits for the server to confirm; while the server is
      // unreachable that could wait forever, so bound it and close regardless.
      const drained = c.drain().then(
        () => true,
        () => false,
      );
      if (!(await withDeadline(drained, opts.closeTimeoutMs))) await c.close();
    },
  };
}

/** Subscribes on `c`; undefined when `c` closed meanwhile (the next connection subscribes again). */
function subscribeOn(c: NatsConnection, r: Registration): Subscription | undefined {
  if (c.isClosed() || c.isDraining()) return undefined;
  return c.subscribe(r.subject, {
    // nats.js calls this from its socket reader: a throw here would stop the reader and with it
    // every subscription on the connection, so a failing handler is reported out of band.
    callback: (err, msg) => {
      // Errors reach callback subscriptions only for timeouts and permission violations; this bus
      // sets neither.
      if (err === null) guarded(() => r.handler(toBusMessage(msg)));
    },
  });
}

/** What nats.js refuses (empty, whitespace, empty tokens), refused before any connection exists. */
function checkSubject(subject: string): void {
  if (typeof subject !== "string" || !/^[^\s.]+(\.[^\s.]+)*$/.test(subject)) {
    throw new OnrampError(ErrorCode.InvalidArgument, `invalid NATS subject ${JSON.stringify(subject)}`);
  }
}

function toBusMessage(msg: Msg): BusMessage {
  return {
    subject: msg.subject,
    data: msg.data,
    isRequest: Boolean(msg.reply),
    respond: (data) => {
      try {
        return msg.respond(data);
      } catch {
        // The connection closed since the request arrived: the requester times out, as it would
        // had the reply been lost.
        return false;
      }
    },
  };
}

/** `nats://host:port`, `tls://host:port` or `host:port`, as nats.js accepts them. */
function isServerUrl(server: unknown): boolean {
  if (typeof server !== "string") return false;
  try {
    const url = new URL(server.includes("://") ? server : `nats://${server}`);
    return (url.protocol === "nats:" || url.protocol === "tls:") && url.hostname !== "" && (url.pathname === "" || url.pathname === "/");
  } catch {
    return false;
  }
}

/** Resolves with `promise`'s value, or with undefined after `ms`. */
async function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function resolveOptions(options: NatsBusOptions): ResolvedOptions {
  const invalid = (field: string, why: string, value: unknown): OnrampError =>
    new OnrampError(ErrorCode.InvalidArgument, `createNatsBus: ${field} ${why}, got ${JSON.stringify(value)}`);
  const { servers } = options;
  if (!Array.isArray(servers) || servers.length === 0) throw invalid("servers", "must list at least one server URL", servers);
  for (const server of servers) {
    if (!isServerUrl(server)) throw invalid("servers", "must hold URLs like nats://host:4222", server);
  }
  const integer = (field: keyof NatsBusOptions, fallback: number, min = 1): number => {
    const value = options[field] ?? fallback;
    if (typeof value !== "number" || !Number.isInteger(value) || value < min) throw invalid(field, `must be an integer ≥ ${min}`, value);
    return value;
  };
  const pingInterval = integer("pingIntervalMs", 2_000);
  const maxPingOut = integer("maxPingOut", 2);
  const reconnectTimeWaitMs = integer("reconnectTimeWaitMs", 250);
  const reconnectJitterMs = integer("reconnectJitterMs", 100, 0);
  const timeout = integer("connectTimeoutMs", 5_000);
  const closeTimeoutMs = integer("closeTimeoutMs", 2_000);
  if (options.name !== undefined && (typeof options.name !== "string" || options.name === "")) throw invalid("name", "must be a non-empty string", options.name);
  return {
    servers,
    maxPingOut,
    reconnectTimeWaitMs,
    reconnectJitterMs,
    closeTimeoutMs,
    nats: {
      servers: [...servers],
      ...(options.name !== undefined && { name: options.name }),
      pingInterval,
      maxPingOut,
      reconnectTimeWait: reconnectTimeWaitMs,
      reconnectJitter: reconnectJitterMs,
      maxReconnectAttempts: -1,
      timeout,
    },
  };
}
