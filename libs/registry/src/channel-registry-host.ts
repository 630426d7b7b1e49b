import { serveOnChannel, unknownMethod, type HostedHandle, type Push } from "./channel-host.js";
import type { AccessEvent } from "./control-store.js";
import { createMemoryControlStore } from "./memory-control-store.js";
import { createMemoryRegistry, type MemoryRegistryStore } from "./memory-registry.js";
import { ACCESS_TAG, REGISTRY_TAG, toChannelError, type ProcessChannel } from "./process-channel.js";
import type { BindingRecord, CloudEndpointRecord, EdgeRecord, SessionRecord } from "./records.js";
import type { BindingClaim, RegistryEvent, RegistryWatch } from "./registry.js";

/**
 * Serves one worker process's registries (`createChannelRegistry`) and access sources
 * (`createChannelAccessSource`) from `store`, the primary's embedded registry. Each handle the
 * worker opens gets its own `createMemoryRegistry(store)`, so when the worker dies (the channel
 * closes) or this host is closed, that handle closes and the worker's edge record, bindings and
 * sessions vanish at once, as a revoked etcd lease would take them. Hosts of several workers on
 * one store see each other's bindings and decide conflicts among them, in this process.
 */
export function hostRegistryOnChannel(store: MemoryRegistryStore, channel: ProcessChannel): { close(): Promise<void> } {
  const registries = serveOnChannel(REGISTRY_TAG, channel, (push) => hostedRegistry(store, push));
  const access = serveOnChannel(ACCESS_TAG, channel, (push) => hostedAccess(store, push));
  return {
    async close() {
      await Promise.all([registries.close(), access.close()]);
    },
  };
}

/** Watches a handle follows for its worker, by the id the worker gave each. */
function watches<E>(push: Push) {
  const open = new Map<number, RegistryWatch>();
  return {
    start(id: unknown, watch: (handler: (event: E) => void) => RegistryWatch): void {
      if (typeof id !== "number" || open.has(id)) return;
      open.set(id, watch((event) => push({ watch: id, event })));
    },
    stop(id: unknown): void {
      if (typeof id !== "number") return;
      open.get(id)?.close();
      open.delete(id);
    },
    closeAll(): void {
      for (const w of open.values()) w.close();
      open.clear();
    },
  };
}

function hostedRegistry(store: MemoryRegistryStore, push: Push): HostedHandle {
  const registry = createMemoryRegistry(store);
  const followed = watches<RegistryEvent>(push);
  registry.onLostBinding = (claim, why) => push({ lost: claim, error: toChannelError(why) });
  return {
    call(method, args) {
      switch (method) {
        case "registerEdge":
          return registry.registerEdge(args[0] as EdgeRecord);
        case "claimBinding":
          return registry.claimBinding(args[0] as BindingRecord);
        case "releaseBinding":
          return registry.releaseBinding(args[0] as BindingClaim);
        case "putSession":
          return registry.putSession(args[0] as SessionRecord);
        case "deleteSession":
          return registry.deleteSession(String(args[0]), String(args[1]));
        case "putCloudEndpoint":
          return registry.putCloudEndpoint(args[0] as CloudEndpointRecord);
        case "deleteCloudEndpoint":
          return registry.deleteCloudEndpoint(String(args[0]));
        case "snapshot":
          return registry.snapshot();
        case "watch":
          // The memory registry delivers the reset inside `watch`: it goes out before this reply.
          return followed.start(args[0], (handler) => registry.watch(handler));
        default:
          throw unknownMethod(REGISTRY_TAG, method);
      }
    },
    notify(method, args) {
      if (method === "unwatch") followed.stop(args[0]);
    },
    async close() {
      followed.closeAll();
      await registry.close();
    },
  };
}

function hostedAccess(store: MemoryRegistryStore, push: Push): HostedHandle {
  const control = createMemoryControlStore(store);
  const followed = watches<AccessEvent>(push);
  return {
    call(method, args) {
      if (method !== "watchAccess") throw unknownMethod(ACCESS_TAG, method);
      return followed.start(args[0], (handler) => control.watchAccess(handler));
    },
    notify(method, args) {
      if (method === "unwatch") followed.stop(args[0]);
    },
    async close() {
      followed.closeAll();
      await control.close();
    },
  };
}
