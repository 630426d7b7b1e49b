import { taggedMessage, toChannelError, type ProcessChannel } from "@onramp/registry";
import type { Bus, BusMessage } from "./bus.js";
import { BUS_TAG } from "./channel-bus.js";

/**
 * 60 s: how long a message delivered to a worker stays answerable. Requests on the mesh bus wait
 * seconds (a gossip snapshot, 2 s), so nobody waits for an answer later than this.
 */
const REPLY_WINDOW_MS = 60_000;

/**
 * Serves the buses one worker process opens (`createChannelBus`) from `bus`, the primary's
 * in-process bus: a worker's publishes and requests go out on it, and its subscriptions become
 * subscriptions on it that forward what matches. One bus serves every worker's host (and the
 * primary's own subscribers), so a publish from one worker reaches the others and the primary,
 * and a request from one is answered by another. What a worker subscribed is unsubscribed when it
 * unsubscribes, closes its bus, or dies (the channel closes), or when this host is closed.
 */
export function hostBusOnChannel(bus: Bus, channel: ProcessChannel): { close(): Promise<void> } {
  /** Per worker-side handle: its subscriptions on `bus` by the worker's id for each. */
  const handles = new Map<string, Map<number, () => void>>();
  const replies = new Map<number, { readonly message: BusMessage; readonly timer: NodeJS.Timeout }>();
  let nextReply = 0;
  let closed = false;

  const send = (handle: string, message: Record<string, unknown>) => {
    if (!closed) channel.send({ onramp: BUS_TAG, handle, ...message });
  };

  const forward = (handle: string, sub: number, message: BusMessage) => {
    if (!message.isRequest) return send(handle, { op: "msg", sub, subject: message.subject, data: message.data });
    const reply = ++nextReply;
    const timer = setTimeout(() => replies.delete(reply), REPLY_WINDOW_MS);
    timer.unref();
    replies.set(reply, { message, timer });
    send(handle, { op: "msg", sub, subject: message.subject, data: message.data, reply });
  };

  const subscriptionsOf = (handle: string) => {
    let subs = handles.get(handle);
    if (!subs) handles.set(handle, (subs = new Map()));
    return subs;
  };

  const end = (handle: string) => {
    for (const unsubscribe of handles.get(handle)?.values() ?? []) unsubscribe();
    handles.delete(handle);
  };

  const receive = (raw: unknown) => {
    const m = taggedMessage(BUS_TAG, raw);
    if (!m || closed || typeof m.handle !== "string") return;
    const handle = m.handle;
    const data = m.data as Uint8Array;
    switch (m.op) {
      case "sub": {
        const subs = subscriptionsOf(handle);
        const sub = m.sub as number;
        if (!subs.has(sub)) subs.set(sub, bus.subscribe(String(m.subject), (message) => forward(handle, sub, message)));
        return;
      }
      case "unsub":
        handles.get(handle)?.get(m.sub as number)?.();
        handles.get(handle)?.delete(m.sub as number);
        return;
      case "pub":
        return bus.publish(String(m.subject), data);
      case "req":
        return void bus.request(String(m.subject), data, Number(m.timeoutMs)).then(
          (answer) => send(handle, { op: "res", req: m.req, data: answer }),
          (err: unknown) => send(handle, { op: "res", req: m.req, error: toChannelError(err) }),
        );
      case "respond": {
        const entry = replies.get(m.reply as number);
        if (!entry) return;
        replies.delete(m.reply as number);
        clearTimeout(entry.timer);
        entry.message.respond(data);
        return;
      }
      case "close":
        return end(handle);
    }
  };

  const shutdown = (notify: boolean) => {
    if (closed) return;
    if (notify) channel.send({ onramp: BUS_TAG, gone: true });
    closed = true;
    for (const stop of stops.splice(0)) stop();
    for (const handle of [...handles.keys()]) end(handle);
    for (const entry of replies.values()) clearTimeout(entry.timer);
    replies.clear();
  };

  const stops: (() => void)[] = [];
  stops.push(channel.onMessage(receive), channel.onClose(() => shutdown(false)));
  if (closed) for (const stop of stops.splice(0)) stop();

  return {
    async close() {
      shutdown(true);
    },
  };
}
