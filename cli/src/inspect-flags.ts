import { createInspector, type ObserveExchange } from "@onramp/agent";
import { ErrorCode, OnrampError } from "@onramp/errors";
import type { Command } from "commander";
import { isIP } from "node:net";

/** ngrok's inspector port (its web_addr), so habits and bookmarks carry over. */
export const INSPECT_PORT = 4040;
/** Up to 4060: a second agent on the machine gets an inspector of its own, as a second ngrok does. */
const FALLBACK_PORTS = 20;
/**
 * Never taken as a fallback: `onramp edge` serves its registry API on 127.0.0.1:4041 and its admin
 * listener on 4042 by default, so an edge started after an agent on the same machine still starts.
 */
const EDGE_PORTS = new Set([4041, 4042]);

/** The inspector flags as commander hands them over. */
export interface InspectFlags {
  /** `--inspect <bool>` gives a string, `--no-inspect` false. */
  inspect?: string | boolean;
  inspectAddr?: string;
}

export interface InspectAddr {
  /** Without brackets, e.g. 127.0.0.1 or ::1. */
  readonly host: string;
  /** 0: any free port. */
  readonly port: number;
}

/** Whether and where the request inspector listens. */
export type InspectSettings =
  | { readonly kind: "off" }
  /** 127.0.0.1:4040, or the next free port up to 4060; without one, a warning and no inspector. */
  | { readonly kind: "default" }
  /** An address asked for: taken or unusable is an error naming `from` (the flag, variable or config key). */
  | { readonly kind: "address"; readonly addr: InspectAddr; readonly from: string };

/** What the inspector settings of the agent config file hold (see agent-config.ts). */
export interface InspectConfig {
  readonly path: string;
  readonly inspect?: boolean;
  readonly inspectAddr?: InspectAddr;
}

export function addInspectFlags(command: Command): Command {
  return command
    .option("--inspect <bool>", `the request inspector (web page and API, like ngrok's): true or false (default true, on 127.0.0.1:${INSPECT_PORT} or the next free port up to ${INSPECT_PORT + FALLBACK_PORTS})`)
    .option("--no-inspect", "same as --inspect=false")
    .option("--inspect-addr <host:port>", `where the request inspector listens (default 127.0.0.1:${INSPECT_PORT}); it shows captured requests to anyone who reaches it, so keep it on loopback`);
}

/**
 * Flags (and their ONRAMP_* variables) over the config file's `inspect` and `inspect_addr`. An
 * address given on the command line turns the inspector on whatever the file says; together
 * with `--inspect=false` it is a contradiction, and an error.
 */
export function resolveInspectSettings(flags: InspectFlags, command: Command, config: InspectConfig): InspectSettings {
  const source = (name: keyof InspectFlags) => command.getOptionValueSource(name) as string | undefined;
  const given = <K extends keyof InspectFlags>(name: K): InspectFlags[K] => (source(name) === "cli" || source(name) === "env" ? flags[name] : undefined);
  const flagSwitch = given("inspect");
  const inspect = flagSwitch === undefined ? undefined : parseSwitch(source("inspect") === "env" ? "ONRAMP_INSPECT" : "--inspect", flagSwitch);
  const addrText = given("inspectAddr");
  const addrFlag = source("inspectAddr") === "env" ? "ONRAMP_INSPECT_ADDR" : "--inspect-addr";
  if (addrText !== undefined) {
    if (inspect === false) throw new OnrampError(ErrorCode.InvalidArgument, `${addrFlag} sets where the inspector listens, and --inspect=false (or --no-inspect) turns it off; give one of them`);
    return { kind: "address", addr: parseInspectAddr(addrFlag, addrText), from: addrFlag };
  }
  if (!(inspect ?? config.inspect ?? true)) return { kind: "off" };
  if (config.inspectAddr) return { kind: "address", addr: config.inspectAddr, from: `inspect_addr in ${config.path}` };
  return { kind: "default" };
}

/** `host:port`, `[ipv6]:port` or a bare port (on 127.0.0.1); errors name `where`. */
export function parseInspectAddr(where: string, text: string): InspectAddr {
  const t = text.trim();
  const match = /^(?:(?:\[([^\]]+)\]|([^:\s[\]]+)):)?(\d{1,5})$/.exec(t);
  const port = Number(match?.[3] ?? NaN);
  if (!match || port > 65535) throw new OnrampError(ErrorCode.InvalidArgument, `${where}: ${JSON.stringify(text)} is not host:port, e.g. 127.0.0.1:${INSPECT_PORT}`);
  const host = match[1] ?? match[2] ?? "127.0.0.1";
  if (match[1] !== undefined && isIP(host) !== 6) throw new OnrampError(ErrorCode.InvalidArgument, `${where}: [${host}] is not an IPv6 address`);
  return { host, port };
}

/** true/false, on/off, yes/no, 1/0, as a flag or its variable may say them; errors name `where`. */
export function parseSwitch(where: string, value: string | boolean): boolean {
  if (typeof value === "boolean") return value;
  const text = value.trim().toLowerCase();
  if (["true", "on", "yes", "1"].includes(text)) return true;
  if (["false", "off", "no", "0"].includes(text)) return false;
  throw new OnrampError(ErrorCode.InvalidArgument, `${where}: ${JSON.stringify(value)} is not true or false`);
}

/** A running inspector, as serve-endpoints uses it. */
export interface Inspection {
  /** For the agent's `observe` option (in the combineObservers list). */
  readonly observe: ObserveExchange;
  /** The page, e.g. http://127.0.0.1:4040. */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Starts the inspector the settings ask for. With the default address, every port 4040–4060
 * taken is a warning, not an error: the tunnel matters more than the inspector.
 */
export async function startInspection(settings: InspectSettings, warn: (line: string) => void): Promise<Inspection | undefined> {
  if (settings.kind === "off") return undefined;
  const inspector = createInspector();
  const running = (url: string): Inspection => ({ observe: inspector.observe, url, close: () => inspector.close() });
  if (settings.kind === "address") {
    const { host, port } = settings.addr;
    try {
      return running(await inspector.listen(host, port));
    } catch (err) {
      await inspector.close();
      const why = err instanceof Error ? err.message : String(err);
      throw new OnrampError(ErrorCode.InvalidArgument, `${settings.from}: ${why}; choose another address, or --inspect=false to run without the inspector`, { cause: err });
    }
  }
  for (let port = INSPECT_PORT; port <= INSPECT_PORT + FALLBACK_PORTS; port++) {
    if (EDGE_PORTS.has(port)) continue;
    try {
      return running(await inspector.listen("127.0.0.1", port));
    } catch (err) {
      if ((err as { cause?: NodeJS.ErrnoException }).cause?.code === "EADDRINUSE") continue;
      await inspector.close();
      warn(`onramp: running without the request inspector: ${(err as Error).message}\n`);
      return undefined;
    }
  }
  await inspector.close();
  warn(`onramp: ports ${INSPECT_PORT}-${INSPECT_PORT + FALLBACK_PORTS} are all in use; running without the request inspector (choose a free address with --inspect-addr)\n`);
  return undefined;
}
