import { ErrorCode, OnrampError } from "@onramp/errors";
import type { Bus, BusMessage, BusStatus } from "./bus.js";

interface Subscription {
  readonly tokens: string[];
  readonly handler: (message: BusMessage) => void;
}

/**
 * The subscriptions one in-process bus shares among the `Bus` handles made from it, so several
 * edges in one process can talk as they would over NATS.
 */
export class InProcessBusHub {
  readonly subscriptions = new Set<Subscription>();
}

/**
 * The embedded bus: messages go to subscribers in this process, delivered asynchronously (as
 * over a network) but in publish order.
 */
export function createInProcessBus(hub: InProcessBusHub = new InProcessBusHub()): Bus {
  const mine = new Set<Subscription>();
  let closed = false;

  const deliver = (subject: string, data: Uint8Array, reply: ((data: Uint8Array) => void) | undefined): number => {
    const tokens = subject.split(".");
    let n = 0;
    for (const sub of hub.subscriptions) {
      if (!subjectMatches(sub.tokens, tokens)) continue;
      n++;
      const message: BusMessage = {
        subject,
        data,
        isRequest: reply !== undefined,
        respond: (answer) => {
          if (!reply) return false;
          reply(answer);
          return true;
        },
      };
      queueMicrotask(() => {
        if (hub.subscriptions.has(sub)) sub.handler(message);
      });
    }
    return n;
  };

  return {
    get connected() {
      return !closed;
    },
    publish(subject, data) {
      if (!closed) deliver(subject, data, undefined);
    },
    subscribe(subject, handler) {
      const sub = { tokens: subject.split("."), handler };
      hub.subscriptions.add(sub);
      mine.add(sub);
      return () => {
        hub.subscriptions.delete(sub);
        mine.delete(sub);
      };
    },
    request(subject, data, timeoutMs) {
      if (closed) return Promise.reject(new OnrampError(ErrorCode.Internal, "the bus is closed"));
      return new Promise((resolve, reject) => {
        let answered = false;
        const timer = setTimeout(() => {
          answered = true;
          reject(new OnrampError(ErrorCode.Internal, `no reply on ${subject} within ${timeoutMs} ms`));
        }, timeoutMs);
        const n = deliver(subject, data, (answer) => {
          if (answered) return;
          answered = true;
          clearTimeout(timer);
          resolve(answer);
        });
        if (n === 0) {
          clearTimeout(timer);
          reject(new OnrampError(ErrorCode.Internal, `no responders on ${subject}`));
        }
      });
    },
    onStatus(_listener: (status: BusStatus) => void) {
      return () => undefined;
    },
    async close() {
      closed = true;
      for (const sub of mine) hub.subscriptions.delete(sub);
      mine.clear();
    },
  };
}

/** NATS subject matching: `*` is one token, `>` (last) is one or more. */
export function subjectMatches(pattern: readonly string[], subject: readonly string[]): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    if (p === ">") return subject.length > i;
    if (i >= subject.length) return false;
    if (p !== "*" && p !== subject[i]) return false;
  }
  return pattern.length === subject.length;
}
