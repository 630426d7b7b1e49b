import { isHostHeader } from "@onramp/agent";
import { ErrorCode, OnrampError } from "@onramp/errors";
import type { Command } from "commander";

/**
 * Adds --host-header. Not a policy: the agent sets Host on the requests it sends its upstream,
 * since only it knows the upstream's own host:port.
 */
export function addHostHeaderFlag(command: Command): Command {
  return command.option(
    "--host-header <rewrite|host>",
    "Host header sent to the upstream: rewrite for the upstream's own host:port, or a host[:port] (default: the client's; it is in X-Forwarded-Host either way)",
  );
}

/** The flag's value for `BindOptions.hostHeader`, checked here so the error names the flag and comes before connecting. */
export function hostHeaderOption(flags: { hostHeader?: string }): string | undefined {
  const value = flags.hostHeader;
  if (value === undefined || value === "rewrite" || isHostHeader(value)) return value;
  throw new OnrampError(ErrorCode.InvalidArgument, `--host-header: ${JSON.stringify(value)} is not rewrite or a host[:port] such as localhost:3000`);
}
