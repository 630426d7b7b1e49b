import type { Bus } from "@onramp/mesh";
import type { ControlStore } from "@onramp/registry";
import { startRegistryApiServer, type RegistryApiServer } from "@onramp/registry-api";
import type { Logger } from "@onramp/telemetry";
import { ErrorCode, OnrampError } from "@onramp/errors";
import type { Command } from "commander";
import { readFileSync } from "node:fs";

/** Where the registry API listens by default: loopback, beside the edge's admin port (4042). */
export const DEFAULT_API_ADDR = "127.0.0.1:4041";

export interface RegistryApiFlags {
  apiAddr?: string;
  apiKey?: string;
  apiTlsCert?: string;
  apiTlsKey?: string;
}

/** Adds --api-addr, --api-key, --api-tls-cert and --api-tls-key, shared by `onramp registry` and `onramp edge`. */
export function addRegistryApiFlags(command: Command, addrHelp: string): Command {
  return command
    .option("--api-addr <host:port>", addrHelp)
    .option("--api-key <key>", "an API key the registry API accepts (stored hashed in the registry; at least 16 characters recommended)")
    .option("--api-tls-cert <file>", "serve the registry API over HTTPS with this PEM certificate (chain); needs --api-tls-key. Clients: onramp api --api-url https://... [--api-ca FILE]")
    .option("--api-tls-key <file>", "PEM private key of --api-tls-cert");
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
  const tls = apiTlsOf(flags);
  const server = await startRegistryApiServer({ store, apiKeys: flags.apiKey ? [flags.apiKey] : [], logger: logger.child({ part: "registry-api" }), addr, bus, ...(tls ? { tls } : {}) });
  logger.info({ address: server.address, url: server.url, keyConfigured: flags.apiKey !== undefined }, "registry API ready");
  return server;
}

/** The PEM pair of --api-tls-cert and --api-tls-key, read now: a missing file fails the start, naming the flag. */
export function apiTlsOf(flags: RegistryApiFlags): { cert: string; key: string } | undefined {
  if (flags.apiTlsCert === undefined && flags.apiTlsKey === undefined) return undefined;
  if (!flags.apiTlsCert || !flags.apiTlsKey) throw new OnrampError(ErrorCode.InvalidArgument, "--api-tls-cert and --api-tls-key come together");
  const read = (path: string, flag: string) => {
    try {
      return readFileSync(path, "utf8");
    } catch (err) {
      throw new OnrampError(ErrorCode.InvalidArgument, `${flag} ${path} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  };
  return { cert: read(flags.apiTlsCert, "--api-tls-cert"), key: read(flags.apiTlsKey, "--api-tls-key") };
}
