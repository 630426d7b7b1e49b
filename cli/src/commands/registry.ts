import { ErrorCode, OnrampError } from "@onramp/errors";
import { createEtcdControlStore } from "@onramp/registry";
import type { Command } from "commander";
import { addLogFlags, loggerFrom, type LogFlags } from "../log-flags.js";
import { addRegistryApiFlags, DEFAULT_API_ADDR, serveRegistryApi, type RegistryApiFlags } from "../registry-api-flags.js";
import { onShutdown } from "../shutdown.js";

interface RegistryFlags extends LogFlags, RegistryApiFlags {
  etcd?: string[];
}

/**
 * `onramp registry`: the control-plane API (authtokens, reserved domains, cloud endpoints, API
 * keys; read-only endpoints and edges) over a mesh's etcd. It holds no state of its own: run as
 * many as you like, anywhere that reaches etcd.
 */
export function registerRegistryCommand(program: Command): void {
  const command = program
    .command("registry")
    .description("serve the registry API (authtokens, reserved domains, cloud endpoints) over a mesh's etcd")
    .option("--etcd <url...>", "etcd endpoints (comma-separated or repeated), the same as the edges'");
  addRegistryApiFlags(command, `where the API listens (default ${DEFAULT_API_ADDR})`);
  addLogFlags(command, "info").action(async (flags: RegistryFlags) => {
    const etcd = ([] as string[]).concat(flags.etcd ?? []).flatMap((e) => e.split(",")).map((e) => e.trim()).filter(Boolean);
    if (etcd.length === 0) throw new OnrampError(ErrorCode.InvalidArgument, "onramp registry needs --etcd (the endpoints the edges use)");
    const logger = loggerFrom(flags, "registry", "info");
    const store = createEtcdControlStore({ endpoints: etcd, logger: logger.child({ part: "registry" }) });
    const server = await serveRegistryApi(store, flags.apiAddr || DEFAULT_API_ADDR, flags, logger);
    onShutdown(async () => {
      await server.close();
      await store.close();
    });
  });
}
