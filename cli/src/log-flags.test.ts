import { ErrorCode } from "@onramp/errors";
import type { Logger } from "@onramp/telemetry";
import { Command } from "commander";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { addLogFlags, logFlagsFromConfig, loggerFrom, type LogFlags } from "./log-flags.js";

const dir = mkdtempSync(join(tmpdir(), "onramp-log-flags-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function parse(args: string[]): LogFlags {
  const command = addLogFlags(new Command().exitOverride());
  command.parse(args, { from: "user" });
  return command.opts<LogFlags>();
}

function flushed(logger: Logger): Promise<void> {
  return new Promise((resolve, reject) => logger.flush((err) => (err ? reject(err) : resolve())));
}

describe("log flags", () => {
  it("checks the level itself, naming the flag and the levels", () => {
    expect(() => loggerFrom(parse(["--log-level", "verbose"]), "agent")).toThrow('--log-level: "verbose" is not one of trace, debug, info, warn, error, silent');
    expect(() => loggerFrom(parse(["--log-level", "verbose"]), "agent")).toThrow(expect.objectContaining({ code: ErrorCode.InvalidArgument }));
    expect(loggerFrom(parse(["--log-level", "DEBUG"]), "agent").level).toBe("debug");
    expect(loggerFrom(parse([]), "agent").level).toBe("warn");
    expect(loggerFrom(parse([]), "edge", "info").level).toBe("info");
  });

  it("checks the format and the destination", () => {
    expect(() => loggerFrom(parse(["--log-format", "fancy"]), "agent")).toThrow('--log-format: "fancy" is not one of pretty, logfmt, json');
    expect(parse(["--log-format", "pretty"]).logFormat).toBe("pretty");
    expect(logFlagsFromConfig({ log_format: "term" }).logFormat).toBe("pretty");
    expect(() => loggerFrom(parse(["--log", " "]), "agent")).toThrow('--log: " " is not stdout, stderr or a file path');
    expect(() => loggerFrom(parse(["--log", join(dir, "missing", "x.log")]), "agent")).toThrow(`--log: cannot append to ${join(dir, "missing", "x.log")}: no such directory`);
  });

  it("--log FILE appends JSON by default (a file is no terminal), or the format asked for", async () => {
    const json = join(dir, "json.log");
    const a = loggerFrom(parse(["--log", json, "--log-level", "info"]), "agent");
    a.info({ edge: "e:1" }, "connected to edge");
    a.debug("below the level");
    await flushed(a);
    const lines = readFileSync(json, "utf8").trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 30, name: "agent", edge: "e:1", msg: "connected to edge" });

    const logfmt = join(dir, "logfmt.log");
    const b = loggerFrom(parse(["--log", logfmt, "--log-format", "logfmt"]), "agent");
    b.warn({ edge: "e:1" }, "lost the edge");
    await flushed(b);
    expect(readFileSync(logfmt, "utf8")).toMatch(/^time=\S+Z level=warn name=agent msg="lost the edge" pid=\d+ edge=e:1\n$/);
  });

  it("reads log_level, log and log_format from a config, naming the key", () => {
    expect(logFlagsFromConfig({ log_level: "Info", log: "/var/log/onramp.log", log_format: "logfmt" })).toEqual({ logLevel: "info", log: "/var/log/onramp.log", logFormat: "logfmt" });
    expect(logFlagsFromConfig({})).toEqual({});
    expect(() => logFlagsFromConfig({ log_level: "verbose" })).toThrow('log_level: "verbose" is not one of trace, debug, info, warn, error, silent');
    expect(() => logFlagsFromConfig({ log_format: 3 })).toThrow("log_format: 3 is not one of pretty, logfmt, json");
    expect(() => logFlagsFromConfig({ log: true })).toThrow("log: true is not stdout, stderr or a file path");
  });
});
