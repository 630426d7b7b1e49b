import type { ChannelClient } from "./channel-client.js";
import type { RegistryWatch } from "./registry.js";

interface Followed<E> {
  readonly handler: (event: E) => void;
  readonly ready: () => void;
  readonly fail: (err: Error) => void;
}

/**
 * The worker side of the watches one handle follows through its host: each gets an id, the
 * host pushes `{ watch: id, event }` in the order the store emitted them, the first being a
 * reset. `ready()` resolves with that reset, or rejects with REGISTRY_UNAVAILABLE if the host is
 * gone first (an etcd watch would wait for etcd to come back; a primary does not come back).
 */
export class ChannelWatches<E> {
  private nextId = 0;
  private readonly followed = new Map<number, Followed<E>>();

  constructor(
    private readonly client: () => ChannelClient,
    private readonly method: string,
  ) {}

  open(handler: (event: E) => void): RegistryWatch {
    const id = ++this.nextId;
    let ready!: () => void;
    let fail!: (err: Error) => void;
    const readyPromise = new Promise<void>((resolve, reject) => {
      ready = resolve;
      fail = reject;
    });
    // Nobody may ever ask for `ready()`: a rejection then must not count as unhandled.
    readyPromise.catch(() => undefined);
    this.followed.set(id, { handler, ready, fail });
    this.client()
      .call(this.method, [id])
      .catch((err: Error) => {
        this.followed.delete(id);
        fail(err);
      });
    return {
      ready: () => readyPromise,
      close: () => {
        if (this.followed.delete(id)) this.client().notify("unwatch", [id]);
      },
    };
  }

  /** Delivers a pushed message if it is an event of a watch still open; true if it was one. */
  deliver(message: Record<string, unknown>): boolean {
    if (typeof message.watch !== "number") return false;
    const followed = this.followed.get(message.watch);
    if (followed) {
      followed.ready();
      followed.handler(message.event as E);
    }
    return true;
  }

  /** The host is gone: no more events; watches not ready yet fail with `why`. */
  fail(why: Error): void {
    for (const followed of this.followed.values()) followed.fail(why);
    this.followed.clear();
  }
}
