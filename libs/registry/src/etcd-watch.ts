import type { Etcd3, IEvent, IWatchRequest, IWatchResponse } from "etcd3";
import { pause, retryDelayMs } from "./backoff.js";
import { bytes, decodeBinding, decodeCloudEndpoint, decodeEdge, readSnapshot, revisionOf } from "./etcd-kv.js";
import type { ResolvedEtcdRegistryOptions } from "./etcd-options.js";
import { BINDINGS, CLOUD_ENDPOINTS, EDGES, PREFIX, prefixEnd } from "./keys.js";
import type { RegistryEvent, RegistryWatch } from "./registry.js";

/** What one list-then-watch follows, and how its events look. */
export interface KeyWatchSpec<E extends { readonly kind: string }> {
  /** Names the watch in logs, e.g. `registry watch`. */
  readonly name: string;
  /** Every key that starts with it is watched. */
  readonly prefix: string;
  /** Reads everything the handler needs at one revision, as the `reset` event that starts (or restarts) it. */
  list(): Promise<{ readonly revision: number; readonly reset: E }>;
  /** The event for one change, or undefined for a key the handler does not follow. */
  toEvent(ev: IEvent, revision: number): E | undefined;
}

/** How a watch stream ended: the revision to resume from is gone (list again), or it broke (resume). */
type StreamEnd = "relist" | "broken" | "closed";

/**
 * List, then watch `spec.prefix` from the listed revision on a watch stream of our own (not
 * etcd3's shared `Watcher`, whose resume point is the response header's revision, which can run
 * ahead of the events sent). Every stream is resumed from the last revision delivered. A stream
 * etcd cancels for compaction, or one on an etcd whose revision is behind ours (restored from a
 * backup, or wiped), is replaced by a new list and `reset`; one that stops answering progress
 * requests is replaced. Events arrive in revision order, never at or below a revision already
 * delivered; the events of one revision (a lease revoke deletes many keys) come together.
 */
export function watchKeys<E extends { readonly kind: string }>(
  client: Etcd3,
  options: ResolvedEtcdRegistryOptions,
  spec: KeyWatchSpec<E>,
  handler: (event: E) => void,
): RegistryWatch {
  const { logger } = options;
  const { name } = spec;
  const stopped = new AbortController();
  let last = 0;
  let endStream: ((end: StreamEnd) => void) | undefined;
  let markReady!: () => void;
  const ready = new Promise<void>((resolve) => (markReady = resolve));

  const deliver = (event: E) => {
    if (stopped.signal.aborted) return;
    try {
      handler(event);
    } catch (err) {
      logger.error({ err, kind: event.kind }, `${name} handler threw`);
    }
  };

  const deliverEvents = (events: IEvent[]) => {
    const floor = last;
    for (const ev of events) {
      const revision = revisionOf(ev.kv.mod_revision);
      if (revision <= floor) continue;
      last = Math.max(last, revision);
      const event = spec.toEvent(ev, revision);
      if (event) deliver(event);
    }
  };

  /** Follows one watch stream from `start` until it ends; `onCreated` once etcd accepted it. */
  const follow = async (start: number, onCreated: () => void): Promise<StreamEnd> => {
    const stream = await client.watchClient.watch();
    if (stopped.signal.aborted) {
      stream.end();
      stream.cancel();
      return "closed";
    }
    return new Promise<StreamEnd>((resolve) => {
      let answered = true;
      const finish = (end: StreamEnd) => {
        if (endStream !== finish) return;
        endStream = undefined;
        clearTimeout(createTimer);
        clearInterval(probe);
        // end() first: etcd3 resets every connection of the client when a writable stream errors.
        stream.end();
        stream.cancel();
        resolve(end);
      };
      endStream = finish;
      const createTimer = setTimeout(() => {
        logger.warn({ start }, `${name}: etcd did not accept the watch in time; retrying`);
        finish("broken");
      }, options.requestTimeoutMs);
      let probe: NodeJS.Timeout | undefined;
      const startProbing = () =>
        setInterval(() => {
          if (!answered) {
            logger.warn({ revision: last }, `${name}: etcd stopped answering on the watch stream; reconnecting`);
            return finish("broken");
          }
          answered = false;
          stream.write({ progress_request: {} } satisfies IWatchRequest);
        }, options.watchProbeIntervalMs);
      stream.on("data", (res: IWatchResponse) => {
        if (endStream !== finish) return;
        answered = true;
        if (res.canceled) {
          const compacted = revisionOf(res.compact_revision) > 0;
          logger.warn({ revision: last, compactRevision: res.compact_revision, reason: res.cancel_reason }, `${name} cancelled by etcd`);
          return finish(compacted ? "relist" : "broken");
        }
        if (res.created) {
          clearTimeout(createTimer);
          // Behind what we delivered: a new cluster (restored or wiped etcd); its history is not ours.
          if (revisionOf(res.header.revision) < last) {
            logger.warn({ revision: last, etcdRevision: res.header.revision }, `${name}: etcd is behind the last revision seen; listing again`);
            return finish("relist");
          }
          probe = startProbing();
          onCreated();
        }
        deliverEvents(res.events);
      });
      stream.on("error", (err: Error) => {
        if (endStream !== finish) return;
        logger.warn({ err, revision: last }, `${name} stream failed; resuming`);
        finish("broken");
      });
      stream.on("end", () => finish("broken"));
      stream.write({
        create_request: { key: bytes(spec.prefix), range_end: bytes(prefixEnd(spec.prefix)), start_revision: start, progress_notify: true },
      } satisfies IWatchRequest);
    });
  };

  const run = async () => {
    let listed = false;
    for (let failures = 0; !stopped.signal.aborted; ) {
      try {
        if (!listed) {
          const { revision, reset } = await spec.list();
          if (stopped.signal.aborted) return;
          last = revision;
          listed = true;
          deliver(reset);
          markReady();
        }
        const end = await follow(last + 1, () => (failures = 0));
        if (end === "closed") return;
        if (end === "relist") listed = false;
      } catch (err) {
        logger.warn({ err, revision: last }, `${name}: etcd unreachable; retrying`);
      }
      await pause(retryDelayMs(++failures), stopped.signal);
    }
  };
  void run();

  return {
    ready: () => ready,
    close() {
      if (stopped.signal.aborted) return;
      stopped.abort();
      endStream?.("closed");
    },
  };
}

/** The routing watch: edges, bindings and cloud endpoints. */
export function watchRegistry(client: Etcd3, options: ResolvedEtcdRegistryOptions, handler: (event: RegistryEvent) => void): RegistryWatch {
  return watchKeys<RegistryEvent>(
    client,
    options,
    {
      name: "registry watch",
      prefix: PREFIX,
      async list() {
        const snapshot = await readSnapshot(client, options);
        return { revision: snapshot.revision, reset: { kind: "reset", snapshot } };
      },
      toEvent: registryEvent,
    },
    handler,
  );
}

function registryEvent(ev: IEvent, revision: number): RegistryEvent | undefined {
  const key = ev.kv.key.toString();
  const put = ev.type === "Put";
  if (key.startsWith(BINDINGS)) return { kind: "binding", key, revision, value: put ? decodeBinding(ev.kv) : undefined };
  if (key.startsWith(CLOUD_ENDPOINTS)) return { kind: "cloud-endpoint", key, revision, value: put ? decodeCloudEndpoint(ev.kv) : undefined };
  if (key.startsWith(EDGES)) return { kind: "edge", key, revision, value: put ? decodeEdge(ev.kv) : undefined };
  return undefined;
}
