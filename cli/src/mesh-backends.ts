import type { EdgeOptions } from "@onramp/edge";
import { createChannelBus, createNatsBus, createSharedRateLimitStore } from "@onramp/mesh";
import {
  createChannelAccessSource,
  createChannelRegistry,
  createEtcdControlStore,
  createEtcdRegistry,
  createMemoryControlStore,
  createMemoryRegistry,
  MemoryRegistryStore,
  type ProcessChannel,
} from "@onramp/registry";
import type { Logger } from "@onramp/telemetry";
import { randomUUID } from "node:crypto";

/** What the CLI composes an edge from; the rest of `EdgeOptions` comes from flags and config. */
export type EdgeBackends = Pick<EdgeOptions, "registry" | "access" | "bus" | "rateLimits">;

/**
 * The distributed parts of an edge in a mesh: the registry and the access source (authtokens,
 * reserved domains) on etcd, the bus on NATS, and rate limits counted across every edge over
 * that bus. The edge owns them once created.
 */
export async function createMeshBackends(options: { etcd: string[]; nats: string[]; edgeId: string | undefined; logger: Logger }): Promise<EdgeBackends> {
  const { logger } = options;
  const registry = createEtcdRegistry({ endpoints: options.etcd, logger: logger.child({ part: "registry" }) });
  const access = createEtcdControlStore({ endpoints: options.etcd, logger: logger.child({ part: "access" }) });
  const bus = await createNatsBus({ servers: options.nats, name: options.edgeId ?? "onramp-edge" });
  bus.onStatus((s) => {
    if (s.kind === "connected") logger.info({ server: s.server }, "bus connected");
    else logger.warn({ err: s.error?.message }, "bus disconnected; falling back to registry watches and local rate counting");
  });
  // Only used to tell this edge's own counts from the others' on the bus.
  const rateLimits = createSharedRateLimitStore({ bus, edgeId: options.edgeId ?? `edge-${randomUUID()}` });
  return { registry, access, bus, rateLimits };
}

/**
 * The parts of an edge on its own: its registry and its access source over one in-memory store.
 * The edge owns those two handles; `store` stays the caller's, for the embedded registry API
 * (`createMemoryControlStore(store)`), so what the API writes the edge sees at once.
 */
export function createEmbeddedBackends(): { store: MemoryRegistryStore; backends: EdgeBackends } {
  const store = new MemoryRegistryStore();
  return { store, backends: { registry: createMemoryRegistry(store), access: createMemoryControlStore(store) } };
}

/**
 * The parts of a worker of `onramp edge --workers N` without a mesh: the registry, access source
 * and bus the primary holds for every worker, over the worker's IPC channel; rate limits counted
 * across the workers over that bus, as edges of a mesh count them over NATS.
 */
export function createWorkerBackends(channel: ProcessChannel, edgeId: string | undefined): EdgeBackends {
  const bus = createChannelBus(channel);
  return {
    registry: createChannelRegistry(channel),
    access: createChannelAccessSource(channel),
    bus,
    // Counts go to the other workers at once (next turn of the event loop), not every 10 ms: over
    // IPC that is cheap, and a client's next request then finds them there.
    rateLimits: createSharedRateLimitStore({ bus, edgeId: edgeId ?? `edge-${randomUUID()}`, flushIntervalMs: 0 }),
  };
}
