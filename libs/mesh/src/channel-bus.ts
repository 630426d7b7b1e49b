import { randomUUID } from "node:crypto";
import { ErrorCode, OnrampError } from "@onramp/errors";
import { fromChannelError, taggedMessage, type ChannelError, type ProcessChannel } from "@onramp/registry";
import type { Bus, BusMessage, BusStatus } from "./bus.js";
import { guarded } from "./guarded.js";

/**
 * Tag of the bus's messages on a process channel. The wire, per worker-side handle:
 *
 *   worker → primary  { op: "sub", sub, subject } · { op: "unsub", sub } · { op: "pub", subject, data }
 *                     { op: "req", req, subject, data, timeoutMs } · { op: "respond", reply, data } · { op: "close" }
 *   primary → worker  { op: "msg", sub, subject, data, reply? } · { op: "res", req, data | error } · { gone: true }
 *
 * every message also carrying `onramp: "bus"` and the handle's id (but `gone`, which ends them all).
 */
export const BUS_TAG = "bus";

interface PendingRequest {
  readonly subject: string;
  readonly resolve: (data: Uint8Array) => void;
  readonly reject: (err: OnrampError) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * The bus of a worker process (`onramp edge --workers N` without NATS): everything goes over
 * `channel` to the primary's in-process bus (`hostBusOnChannel`), so the workers' edges and the
 * primary talk as edges do over NATS. `connected` until the channel closes, then a
 * `disconnected` status: publishes are dropped and requests rejected from then on, as on a NATS
 * bus that lost its server, and nothing reconnects (the worker's primary is gone).
 */
export function createChannelBus(channel: ProcessChannel): Bus {
  const handle = randomUUID();
  const handlers = new Map<number, (message: BusMessage) => void>();
  const requests = new Map<number, PendingRequest>();
  const listeners = new Set<(status: BusStatus) => void>();
  let nextId = 0;
  let state: "connected" | "disconnected" | "closed" = "connected";

  const send = (message: Record<string, unknown>) => {
    if (state === "connected") channel.send({ onramp: BUS_TAG, handle, ...message });
  };

  const settle = (id: number, outcome: { data: Uint8Array } | { error: OnrampError }) => {
    const pending = requests.get(id);
    if (!pending) return;
    requests.delete(id);
    clearTimeout(pending.timer);
    if ("data" in outcome) pending.resolve(outcome.data);
    else pending.reject(outcome.error);
  };

  const failRequests = (why: string) => {
    for (const [id, pending] of requests) settle(id, { error: new OnrampError(ErrorCode.Internal, `${why}; no reply on ${pending.subject}`) });
  };

  const disconnect = (why: string) => {
    if (state !== "connected") return;
    state = "disconnected";
    failRequests(why);
    const status: BusStatus = { kind: "disconnected", error: new OnrampError(ErrorCode.Internal, why) };
    for (const listener of listeners) guarded(() => listener(status));
  };

  const receive = (message: unknown) => {
    const m = taggedMessage(BUS_TAG, message);
    if (!m) return;
    if (m.gone === true) return disconnect("the primary process closed the bus");
    if (m.handle !== handle || state !== "connected") return;
    if (m.op === "msg") {
      const handler = handlers.get(m.sub as number);
      if (handler) guarded(() => handler(busMessage(m)));
    } else if (m.op === "res") {
      settle(m.req as number, m.error !== undefined ? { error: fromChannelError(m.error as ChannelError) } : { data: m.data as Uint8Array });
    }
  };

  const busMessage = (m: Record<string, unknown>): BusMessage => {
    const reply = typeof m.reply === "number" ? m.reply : undefined;
    return {
      subject: String(m.subject),
      data: m.data as Uint8Array,
      isRequest: reply !== undefined,
      respond(data) {
        if (reply === undefined || state !== "connected") return false;
        send({ op: "respond", reply, data });
        return true;
      },
    };
  };

  const stops = [channel.onMessage(receive), channel.onClose(() => disconnect("the channel to the primary process closed"))];

  return {
    get connected() {
      return state === "connected";
    },
    publish(subject, data) {
      send({ op: "pub", subject, data });
    },
    subscribe(subject, handler) {
      const sub = ++nextId;
      handlers.set(sub, handler);
      send({ op: "sub", sub, subject });
      return () => {
        if (handlers.delete(sub)) send({ op: "unsub", sub });
      };
    },
    request(subject, data, timeoutMs) {
      if (state !== "connected") return Promise.reject(new OnrampError(ErrorCode.Internal, `the bus is not connected; no request on ${subject}`));
      const req = ++nextId;
      return new Promise<Uint8Array>((resolve, reject) => {
        // The primary bounds the request too; this bound holds even when the primary is stuck.
        const timer = setTimeout(() => settle(req, { error: new OnrampError(ErrorCode.Internal, `no reply on ${subject} within ${timeoutMs} ms`) }), timeoutMs);
        requests.set(req, { subject, resolve, reject, timer });
        send({ op: "req", req, subject, data, timeoutMs });
      });
    },
    onStatus(listener) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    async close() {
      if (state === "closed") return;
      send({ op: "close" });
      failRequests("the bus is closed");
      state = "closed";
      handlers.clear();
      listeners.clear();
      for (const stop of stops.splice(0)) stop();
    },
  };
}
