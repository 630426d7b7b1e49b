import type { BindOptions } from "@onramp/agent";
import { ErrorCode, OnrampError } from "@onramp/errors";
import type { Command } from "commander";
import type { AgentConfig } from "../agent-config.js";
import { addAgentFlags, resolveAgentSettings, type AgentFlags } from "../agent-flags.js";
import { serveEndpoints } from "../serve-endpoints.js";

interface StartFlags extends AgentFlags {
  all?: boolean;
}

export function registerStartCommand(program: Command): void {
  const command = program
    .command("start")
    .description("run endpoints of the agent config from one agent: the ones named, or --all")
    .argument("[names...]", "endpoints to start, by their name under endpoints: in the config")
    .option("--all", "start every endpoint of the config");
  addAgentFlags(command).action(async (names: string[], flags: StartFlags, self: Command) => {
    const settings = resolveAgentSettings(flags, self);
    await serveEndpoints(settings, chooseEndpoints(settings.config, names, flags.all ?? false));
  });
}

/**
 * The endpoints to run. A config in the older list form has no names, and `onramp start
 * --config file` ran all of its endpoints, so it still does.
 */
function chooseEndpoints(config: AgentConfig, names: readonly string[], all: boolean): BindOptions[] {
  const { named, list } = config.endpoints;
  const known = list.map((e) => e.name).join(", ");
  if (list.length === 0) {
    const why = config.found ? "has no endpoints" : "does not exist yet";
    throw new OnrampError(ErrorCode.InvalidArgument, `${config.path} ${why}; describe them under endpoints:, e.g.\n  endpoints:\n    web:\n      upstream: 3000`);
  }
  if (names.length > 0 && all) throw new OnrampError(ErrorCode.InvalidArgument, "give endpoint names or --all, not both");
  if (names.length > 0 && !named) {
    throw new OnrampError(ErrorCode.InvalidArgument, `the endpoints in ${config.path} are a list, without names; make endpoints: a mapping of name → endpoint to start them by name, or give no names to start them all`);
  }
  if (names.length === 0 && !all && named) {
    throw new OnrampError(ErrorCode.InvalidArgument, `name the endpoints to start, or use --all (in ${config.path}: ${known})`);
  }
  const chosen = names.length === 0 ? list : names.map((name) => {
    const endpoint = list.find((e) => e.name === name);
    if (!endpoint) throw new OnrampError(ErrorCode.InvalidArgument, `no endpoint ${JSON.stringify(name)} in ${config.path} (known: ${known})`);
    return endpoint;
  });
  return [...new Set(chosen)].map((e) => ({
    upstream: e.upstream,
    url: e.url,
    poolingEnabled: e.poolingEnabled,
    poolWeight: e.poolWeight,
    inspect: e.inspect,
    trafficPolicy: e.policy?.text,
    // A policy file: the edge's line:column are its own. Inline: they count from the policy's first line.
    trafficPolicySource: e.policy && (e.policy.filename === config.path ? `${config.path} (traffic_policy of endpoint ${e.name ?? e.upstream})` : e.policy.filename),
  }));
}
