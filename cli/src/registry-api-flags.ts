import type { Bus } from "@onramp/mesh";
import type { ControlStore } from "@onramp/registry";
import { startRegistryApiServer, type RegistryApiServer } from "@onramp/registry-api";
import type { Logger } from "@onramp/telemetry";
import type { Command } from "commander";

/** Where the registry API listens by default: loopback, beside the edge's admin port (4042). */
export const DEFAULT_API_ADDR = "127.0.0.1:4041";

export interface RegistryApiFlags {
  apiAddr?: string;
  apiKey?: string;
}

/** Adds --api-addr and --api-key, shared by `onramp registry` and `onramp edge`. */
export function addRegistryApiFlags(command: Command, addrHelp: string): Command {
  return command
    .option("--api-addr <host:port>", addrHelp)
    .option("--api-key <key>", "an API key the registry API accepts (stored hashed in the registry; at least 16 characters recommended)");
}

/**
 * Starts the registry API over `store` at `addr` with the flags' bootstrap key, warning about a
 * key short enough to be guessed from its hash. With `bus` (the mesh's), the API shows edges'
 * heartbeats and members' health; it does not close it.
 */
export async function serveRegistryApi(store: ControlStore, addr: string, flags: RegistryApiFlags, logger: Logger, bus?: Bus): Promise<RegistryApiServer> {
  if (flags.apiKey !== undefined && flags.apiKey.length < 16) {
    process.stderr.write("onramp: warning: --api-key is shorter than 16 characters and could be guessed; generate one with: openssl rand -hex 32\n");
  }
  const server = await startRegistryApiServer({ store, apiKeys: flags.apiKey ? [flags.apiKey] : [], logger: logger.child({ part: "registry-api" }), addr, bus });
  logger.info({ address: server.address, keyConfigured: flags.apiKey !== undefined }, "registry API ready");
  return server;
}
