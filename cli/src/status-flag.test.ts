import { afterEach, describe, expect, it, vi } from "vitest";
import { agentSettingsFor } from "./agent-settings-fixture.js";
import { statusScreenWanted } from "./status-screen.js";

/** `statusScreen` of `onramp agent-test ARGS` with `env` set and no config file. */
function statusScreen(args: string[], env: Record<string, string> = {}): boolean {
  return agentSettingsFor(["agent-test", ...args], env).statusScreen;
}

afterEach(() => void vi.unstubAllEnvs());

describe("--status", () => {
  it("is on by default, off with --status=false, --no-status or ONRAMP_STATUS=false", () => {
    expect(statusScreen([])).toBe(true);
    expect(statusScreen(["--status=false"])).toBe(false);
    expect(statusScreen(["--status", "off"])).toBe(false);
    expect(statusScreen(["--no-status"])).toBe(false);
    expect(statusScreen([], { ONRAMP_STATUS: "false" })).toBe(false);
    expect(statusScreen(["--status", "true"], { ONRAMP_STATUS: "false" })).toBe(true);
  });

  it("refuses a value that is not true or false, naming the flag", () => {
    expect(() => statusScreen(["--status", "maybe"])).toThrow('--status: "maybe" is not true or false');
  });
});

describe("statusScreenWanted", () => {
  const tty = { isTTY: true } as never;
  const pipe = { isTTY: false } as never;

  it("wants a terminal on stdout that can draw, and the flag on", () => {
    expect(statusScreenWanted(true, tty, { TERM: "xterm-256color" })).toBe(true);
    expect(statusScreenWanted(true, pipe, { TERM: "xterm-256color" })).toBe(false);
    expect(statusScreenWanted(false, tty, { TERM: "xterm-256color" })).toBe(false);
    expect(statusScreenWanted(true, tty, { TERM: "dumb" })).toBe(false);
  });
});
