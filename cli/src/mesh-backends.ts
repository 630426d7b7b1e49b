import type { EdgeOptions } from "@onramp/edge";
import { createNatsBus, createSharedRateLimitStore } from "@onramp/mesh";
import { createEtcdRegistry } from "@onramp/registry";
import type { Logger } from "@onramp/telemetry";
import { randomUUID } from "node:crypto";

/**
 * The distributed parts of an edge in a mesh: the registry on etcd, the bus on NATS, and rate
 * limits counted across every edge over that bus. The edge owns them once created.
 */
export async function createMeshBackends(options: { etcd: string[]; nats: string[]; edgeId: string | undefined; logger: Logger }): Promise<Pick<EdgeOptions, "registry" | "bus" | "rateLimits">> {
  const { logger } = options;
  const registry = createEtcdRegistry({ endpoints: options.etcd, logger: logger.child({ part: "registry" }) });
  const bus = await createNatsBus({ servers: options.nats, name: options.edgeId ?? "onramp-edge" });
  bus.onStatus((s) => {
    if (s.kind === "connected") logger.info({ server: s.server }, "bus connected");
    else logger.warn({ err: s.error?.message }, "bus disconnected; falling back to registry watches and local rate counting");
  });
  // Only used to tell this edge's own counts from the others' on the bus.
  const rateLimits = createSharedRateLimitStore({ bus, edgeId: options.edgeId ?? `edge-${randomUUID()}` });
  return { registry, bus, rateLimits };
}
