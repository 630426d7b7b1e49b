import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { vi } from "vitest";
import { addAgentFlags, resolveAgentSettings, type AgentFlags, type AgentSettings } from "./agent-flags.js";
import { OnrampCommand } from "./onramp-command.js";

/**
 * For tests: the merged settings of `onramp ARGS` (ARGS start with the command name, `agent-test`,
 * a command with the agent flags) with `env` set and, when given, a config file holding `config`.
 * Whatever ONRAMP_* variables the shell running the tests has set do not count, and the default
 * config path is an empty directory of its own. Call `vi.unstubAllEnvs()` after each test.
 */
export function agentSettingsFor(args: string[], env: Record<string, string> = {}, config?: string): AgentSettings {
  vi.unstubAllEnvs();
  for (const name of Object.keys(process.env).filter((n) => n.startsWith("ONRAMP_"))) vi.stubEnv(name, undefined);
  const dir = mkdtempSync(join(tmpdir(), "onramp-agent-settings-"));
  vi.stubEnv("XDG_CONFIG_HOME", dir);
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  if (config !== undefined) {
    writeFileSync(join(dir, "onramp.yml"), config);
    args = [...args, "--config", join(dir, "onramp.yml")];
  }
  const program = new OnrampCommand().exitOverride();
  const command = addAgentFlags(program.command("agent-test")).action(() => {});
  program.parse(args, { from: "user" });
  return resolveAgentSettings(command.opts<AgentFlags>(), command);
}
