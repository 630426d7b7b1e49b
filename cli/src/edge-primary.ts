import type { EdgeOptions } from "@onramp/edge";
import { createInProcessBus, createNatsBus, hostBusOnChannel, type Bus } from "@onramp/mesh";
import { createEtcdControlStore, createMemoryControlStore, hostRegistryOnChannel, MemoryRegistryStore, type ControlStore, type ProcessChannel } from "@onramp/registry";
import type { RegistryApiServer } from "@onramp/registry-api";
import type { Logger } from "@onramp/telemetry";
import { randomBytes } from "node:crypto";
import type { Server } from "node:http";
import { WORKER_SECRET_ENV } from "./edge-worker.js";
import { createWorkersAdminServer, listenAdmin } from "./edge-workers-admin.js";
import { EdgeWorkers } from "./edge-workers.js";
import { DEFAULT_API_ADDR, serveRegistryApi, type RegistryApiFlags } from "./registry-api-flags.js";
import { onShutdown } from "./shutdown.js";

export interface EdgePrimarySettings {
  count: number;
  options: EdgeOptions;
  /** The mesh's etcd and NATS, or undefined for the embedded backends, which the primary then holds for every worker. */
  mesh: { etcd: string[]; nats: string[] } | undefined;
  apiFlags: RegistryApiFlags;
  logger: Logger;
}

/**
 * `onramp edge --workers N` in the primary process: forks the workers, serves the admin port
 * (metrics of all workers as one) and the registry API, and, without etcd and NATS, holds the one
 * in-memory registry and bus every worker uses. Logs "edge ready" once every worker is.
 */
export async function runEdgePrimary(settings: EdgePrimarySettings): Promise<void> {
  const { count, options, mesh, apiFlags, logger } = settings;
  const embedded = mesh ? undefined : { store: new MemoryRegistryStore(), bus: createInProcessBus() };
  const workers = new EdgeWorkers({
    count,
    // Workers relay requests to each other when an agent's session is on another worker: with no
    // --cluster-secret (one edge alone) they share one made now.
    env: options.clusterSecret ? {} : { [WORKER_SECRET_ENV]: randomBytes(32).toString("base64url") },
    ...(embedded && { host: (channel: ProcessChannel) => hostEmbedded(embedded.store, embedded.bus, channel) }),
    logger,
  });
  let draining = false;
  let admin: Server | undefined;
  let api: RegistryApiServer | undefined;
  let apiStore: ControlStore | undefined;
  let apiBus: Bus | undefined;
  const stop = async () => {
    draining = true;
    logger.info({ workers: count }, "shutting down: draining every worker");
    await workers.close();
    await api?.close();
    await apiStore?.close();
    await apiBus?.close();
    await embedded?.bus.close();
    await new Promise<void>((resolve) => (admin ? admin.close(() => resolve()) : resolve()));
  };
  onShutdown(stop);
  // The admin port and the API first: a taken port fails before any worker runs.
  const adminAddr = options.adminAddr ?? "127.0.0.1:4042";
  if (adminAddr !== "") admin = createWorkersAdminServer(workers, () => draining);
  const adminAddress = admin ? await listenAdmin(admin, adminAddr, "--admin-addr") : undefined;
  const apiAddr = apiFlags.apiAddr ?? (embedded ? DEFAULT_API_ADDR : "");
  if (apiAddr) {
    apiStore = embedded ? createMemoryControlStore(embedded.store) : createEtcdControlStore({ endpoints: mesh!.etcd, logger: logger.child({ part: "registry-api" }) });
    apiBus = embedded ? undefined : await createNatsBus({ servers: mesh!.nats, name: "onramp-edge-primary" });
    api = await serveRegistryApi(apiStore, apiAddr, apiFlags, logger, embedded?.bus ?? apiBus).catch((err: unknown) => {
      if (apiFlags.apiAddr !== undefined) throw err;
      process.stderr.write(`onramp: warning: registry API not started (${(err as Error).message}); pass --api-addr to serve it elsewhere\n`);
      return undefined;
    });
  }
  const ready = await workers.start().catch((err: Error & { cause?: { exitCode?: number | null } }) => {
    // The worker wrote why on stderr; the primary leaves with its exit code.
    logger.debug({ err: err.message }, "edge workers did not start");
    process.exit(err.cause?.exitCode || 1);
  });
  const first = ready[0]!;
  logger.info(
    { edge: first.edgeId, region: options.region ?? "local", advertise: first.addresses.advertise, http: first.addresses.http, https: first.addresses.https, agent: first.addresses.agent, admin: adminAddress, workers: ready.map((w) => ({ edge: w.edgeId, agent: w.addresses.agent, admin: w.addresses.admin })), domain: options.domain ?? "localhost" },
    "edge ready",
  );
}

/** Serves one worker the primary's in-memory registry, access source and bus; closing releases what the worker held. */
function hostEmbedded(store: MemoryRegistryStore, bus: Bus, channel: ProcessChannel): { close(): Promise<void> } {
  const registry = hostRegistryOnChannel(store, channel);
  const hostedBus = hostBusOnChannel(bus, channel);
  return {
    close: async () => {
      await registry.close();
      await hostedBus.close();
    },
  };
}
