import { homedir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { defaultAgentConfigPath, urlMemoryPath } from "./config-paths.js";

describe("where the agent keeps its files", () => {
  it("follows $XDG_CONFIG_HOME and $XDG_STATE_HOME", () => {
    expect(defaultAgentConfigPath({ XDG_CONFIG_HOME: "/x/cfg" })).toBe("/x/cfg/onramp/onramp.yml");
    expect(urlMemoryPath({ XDG_STATE_HOME: "/x/state" })).toBe("/x/state/onramp/urls.json");
  });

  it("falls back to ~/.config and ~/.local/state when they are unset, empty or relative (as the spec says)", () => {
    for (const value of [undefined, "", "relative/dir"]) {
      expect(defaultAgentConfigPath({ XDG_CONFIG_HOME: value })).toBe(join(homedir(), ".config", "onramp", "onramp.yml"));
      expect(urlMemoryPath({ XDG_STATE_HOME: value })).toBe(join(homedir(), ".local", "state", "onramp", "urls.json"));
    }
  });
});
