import { createEdge, type Edge, type EdgeOptions } from "@onramp/edge";
import { createEtcdCertificateStore, createEtcdControlStore, createMemoryControlStore, type ControlStore } from "@onramp/registry";
import type { Logger } from "@onramp/telemetry";
import { channelToPrimary, serveWorker, siblingsFrom, workerEdgeOptions } from "./edge-worker.js";
import { createEmbeddedBackends, createMeshBackends, createWorkerBackends } from "./mesh-backends.js";
import { DEFAULT_API_ADDR, serveRegistryApi, type RegistryApiFlags } from "./registry-api-flags.js";
import { onShutdown } from "./shutdown.js";
import { tracingFromEnv } from "./tracing-env.js";

/*
 * How `onramp edge` runs once its flags are read: one edge in this process, or one worker of
 * `--workers N` (the primary is edge-primary.ts).
 */

/** The mesh's etcd and NATS endpoints (--etcd, --nats). */
export interface MeshUrls {
  etcd: string[];
  nats: string[];
}

/** One edge in this process: the embedded backends or the mesh's, the registry API, the shutdown. */
export async function runEdgeAlone(options: EdgeOptions, meshUrls: MeshUrls | undefined, flags: RegistryApiFlags, logger: Logger): Promise<void> {
  const tracing = tracingFromEnv("onramp-edge");
  // Alone, the edge's registry and access source share one in-memory store, which
  // createEmbeddedBackends() also returns (`store`) for the embedded registry API to serve
  // over with createMemoryControlStore(store); in a mesh, both are on etcd.
  const mesh = meshUrls && { backends: await createMeshBackends({ ...meshUrls, edgeId: options.edgeId, logger }), etcd: meshUrls.etcd };
  const embedded = mesh ? undefined : createEmbeddedBackends();
  const edge = createEdge({ ...options, ...(mesh?.backends ?? embedded!.backends), ...acmeStoreOf(options, meshUrls, logger), logger, tracing });
  await edge.start();
  // The registry API: alone, over the edge's own in-memory state (on by default, loopback);
  // in a mesh only when asked for, over etcd (usually `onramp registry` runs it).
  const apiAddr = flags.apiAddr ?? (embedded ? DEFAULT_API_ADDR : "");
  let apiStore: ControlStore | undefined;
  if (apiAddr) apiStore = embedded ? createMemoryControlStore(embedded.store) : createEtcdControlStore({ endpoints: mesh!.etcd, logger: logger.child({ part: "registry-api" }) });
  // The edge's own bus (in-process alone, NATS in a mesh) carries its heartbeats and its
  // members' health to the API; the edge closes it.
  const api = apiStore ? await serveRegistryApi(apiStore, apiAddr, flags, logger, edge.bus).catch((err: unknown) => {
    // The default address taken (another edge on this machine): the edge runs without the API.
    if (flags.apiAddr !== undefined) throw err;
    process.stderr.write(`onramp: warning: registry API not started (${(err as Error).message}); pass --api-addr to serve it elsewhere\n`);
    return undefined;
  }) : undefined;
  onShutdown(async () => {
    logger.info("shutting down: draining sessions and requests");
    await api?.close();
    await apiStore?.close();
    await edge.close();
    await tracing?.shutdown();
  });
}

/**
 * Worker `index` of `onramp edge --workers N` (edge-primary.ts forked it): an edge of its own
 * with its own agent port, on the mesh's backends or, without etcd and NATS, on the primary's
 * in-memory ones over IPC. The primary serves the admin port and the registry API.
 */
export async function runEdgeWorker(options: EdgeOptions, index: number, meshUrls: MeshUrls | undefined, logger: Logger): Promise<void> {
  const tracing = tracingFromEnv("onramp-edge");
  const channel = channelToPrimary();
  // Asked to stop while still starting (another worker failed, or a signal came early): nothing to drain yet.
  const stopEarly = channel.onMessage((message) => {
    if ((message as { onramp?: string }).onramp === "shutdown") process.exit(0);
  });
  let edge: Edge | undefined;
  const workerOptions = await workerEdgeOptions(options, index, siblingsFrom(channel, () => edge?.addresses.advertise), logger.child({ worker: index }));
  const backends = meshUrls ? await createMeshBackends({ ...meshUrls, edgeId: workerOptions.edgeId, logger }) : createWorkerBackends(channel, workerOptions.edgeId);
  edge = createEdge({ ...workerOptions, ...backends, ...acmeStoreOf(options, meshUrls, logger), logger: logger.child({ worker: index }), tracing });
  await edge.start();
  stopEarly();
  const started = edge;
  const stop = onShutdown(async () => {
    await started.close();
    await tracing?.shutdown();
  });
  serveWorker(started, index, channel, () => {
    logger.info({ worker: index }, "the primary asked this worker to stop: draining");
    stop();
  });
}

/** In a mesh, ACME certificates, the account and order locks are in etcd: every edge serves them. */
function acmeStoreOf(options: EdgeOptions, meshUrls: MeshUrls | undefined, logger: Logger): Partial<EdgeOptions> {
  return options.acme && meshUrls ? { acme: { ...options.acme, store: createEtcdCertificateStore({ endpoints: meshUrls.etcd, logger: logger.child({ part: "acme" }) }) } } : {};
}
