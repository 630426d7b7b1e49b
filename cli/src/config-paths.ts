import { homedir } from "node:os";
import { isAbsolute, join } from "node:path";

/**
 * Where the agent keeps its files, following the XDG Base Directory spec as ngrok does on Linux:
 * settings (they hold the authtoken) in the config dir, remembered URLs in the state dir, which
 * the spec reserves for data that "should persist between restarts" but is not worth backing up.
 */

/** `$XDG_CONFIG_HOME/onramp/onramp.yml`, else `~/.config/onramp/onramp.yml`. */
export function defaultAgentConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(xdgDir(env.XDG_CONFIG_HOME, ".config"), "onramp", "onramp.yml");
}

/** `$XDG_STATE_HOME/onramp/urls.json`, else `~/.local/state/onramp/urls.json`. */
export function urlMemoryPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(xdgDir(env.XDG_STATE_HOME, join(".local", "state")), "onramp", "urls.json");
}

/** The spec says an unset, empty or relative value means the default under the home directory. */
function xdgDir(value: string | undefined, fallbackUnderHome: string): string {
  return value && isAbsolute(value) ? value : join(homedir(), fallbackUnderHome);
}
