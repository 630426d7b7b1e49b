import type { Command } from "commander";
import { addAgentFlags, resolveAgentSettings, type AgentFlags } from "../agent-flags.js";
import { checkBindUrl } from "../bind-url.js";
import { readTextFile } from "../config-file.js";
import { addHostHeaderFlag, hostHeaderOption } from "../host-header-flag.js";
import { addPolicyShortcutFlags, combinePolicies, printablePolicy, shortcutPolicy, type PolicyShortcutFlags } from "../policy-shortcuts.js";
import { serveEndpoints } from "../serve-endpoints.js";
import { parsePoolWeight } from "../units.js";

interface HttpFlags extends AgentFlags, PolicyShortcutFlags {
  url?: string;
  poolingEnabled?: boolean;
  poolWeight?: string;
  trafficPolicyFile?: string;
  hostHeader?: string;
}

export function registerHttpCommand(program: Command): void {
  const command = program
    .command("http")
    .description("expose a local HTTP service; with no edge configured, an embedded edge runs in-process on loopback")
    .argument("<upstream>", "port, host:port or URL of the local service, e.g. 3000")
    .option("--url <url>", "URL to bind, e.g. http://app.example.com or https://*.example.com (default: a random URL from the edge; the embedded edge gives an upstream the same one each run)")
    .option("--pooling-enabled", "share the URL with other agents binding it with pooling enabled")
    .option("--pool-weight <n>", "this agent's share of the pool's traffic relative to the other members, 1-1000 (default 1)")
    .option("--traffic-policy-file <file>", "traffic policy (YAML or JSON) the edge applies to this endpoint");
  addHostHeaderFlag(command);
  addPolicyShortcutFlags(command);
  addAgentFlags(command).action(async (target: string, flags: HttpFlags, self: Command) => {
    // Everything the user typed is checked before anything connects.
    const url = flags.url === undefined ? undefined : checkBindUrl(flags.url, "--url", (u) => `--url ${u}`);
    const poolWeight = flags.poolWeight === undefined ? undefined : parsePoolWeight(flags.poolWeight, "--pool-weight");
    const hostHeader = hostHeaderOption(flags);
    const file = flags.trafficPolicyFile ? { text: readTextFile(flags.trafficPolicyFile, "--traffic-policy-file"), source: flags.trafficPolicyFile } : undefined;
    const trafficPolicy = combinePolicies(file, shortcutPolicy(flags));
    if (flags.printPolicy) {
      process.stdout.write(printablePolicy(trafficPolicy));
      return;
    }
    const settings = resolveAgentSettings(flags, self);
    // The file's own name when it goes as is; combined with shortcuts, positions are in what --print-policy shows.
    const trafficPolicySource = file && trafficPolicy === file.text ? file.source : trafficPolicy ? `${file ? `${file.source} with ` : ""}the shortcut flags (see --print-policy)` : undefined;
    await serveEndpoints(settings, [{ upstream: target, url, poolingEnabled: flags.poolingEnabled ?? false, poolWeight, trafficPolicy, trafficPolicySource, hostHeader }]);
  });
}
