import { ErrorCode, OnrampError } from "@onramp/errors";
import { createNatsBus, type Bus } from "@onramp/mesh";
import { createEtcdControlStore } from "@onramp/registry";
import type { Command } from "commander";
import { addLogFlags, loggerFrom, type LogFlags } from "../log-flags.js";
import { addRegistryApiFlags, DEFAULT_API_ADDR, serveRegistryApi, type RegistryApiFlags } from "../registry-api-flags.js";
import { onShutdown } from "../shutdown.js";

interface RegistryFlags extends LogFlags, RegistryApiFlags {
  etcd?: string[];
  nats?: string[];
}

/**
 * `onramp registry`: the control-plane API (authtokens, reserved domains, cloud endpoints, API
 * keys; read-only endpoints and edges) over a mesh's etcd. It holds no state of its own: run as
 * many as you like, anywhere that reaches etcd. With --nats it also listens to the edges' gossip,
 * for their heartbeats and their members' health, which etcd does not hold.
 */
export function registerRegistryCommand(program: Command): void {
  const command = program
    .command("registry")
    .description("serve the registry API (authtokens, reserved domains, cloud endpoints) over a mesh's etcd")
    .option("--etcd <url...>", "etcd endpoints (comma-separated or repeated), the same as the edges'")
    .option("--nats <url...>", "NATS servers (comma-separated or repeated), the same as the edges': shows edges' last heartbeats and members' health and load (null without it)");
  addRegistryApiFlags(command, `where the API listens (default ${DEFAULT_API_ADDR})`);
  addLogFlags(command, "info").action(async (flags: RegistryFlags) => {
    const list = (values: string[] | undefined) => ([] as string[]).concat(values ?? []).flatMap((e) => e.split(",")).map((e) => e.trim()).filter(Boolean);
    const etcd = list(flags.etcd);
    const nats = list(flags.nats);
    if (etcd.length === 0) throw new OnrampError(ErrorCode.InvalidArgument, "onramp registry needs --etcd (the endpoints the edges use)");
    const logger = loggerFrom(flags, "registry", "info");
    const store = createEtcdControlStore({ endpoints: etcd, logger: logger.child({ part: "registry" }) });
    let bus: Bus | undefined;
    if (nats.length > 0) {
      bus = await createNatsBus({ servers: nats, name: "onramp-registry" });
      bus.onStatus((s) => {
        if (s.kind === "connected") logger.info({ server: s.server }, "bus connected");
        else logger.warn({ err: s.error?.message }, "bus disconnected; edges' heartbeats and members' health are not updated until it is back");
      });
    }
    const server = await serveRegistryApi(store, flags.apiAddr || DEFAULT_API_ADDR, flags, logger, bus);
    onShutdown(async () => {
      await server.close();
      await bus?.close();
      await store.close();
    });
  });
}
