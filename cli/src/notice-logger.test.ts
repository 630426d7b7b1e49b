import { createLogger } from "@onramp/telemetry";
import { devNull } from "node:os";
import { describe, expect, it } from "vitest";
import { describe as describeCall, logsReachTerminal, noticeLogger } from "./notice-logger.js";
import type { NoticeLevel } from "./status-view.js";

function collecting(level: "info" | "warn" = "warn") {
  const notices: Array<[NoticeLevel, string]> = [];
  const base = createLogger({ level, name: "agent", destination: { file: devNull } });
  return { logger: noticeLogger(base, "agent", (l, text) => notices.push([l, text])), notices };
}

describe("noticeLogger", () => {
  it("turns the lines its level lets through into notices, message and fields on one line", () => {
    const { logger, notices } = collecting();
    logger.info({ edge: "e:1" }, "connected to edge");
    logger.warn({ endpoint: "https://a.example.com", reason: "too many failures" }, "pool member ejected");
    logger.error(new Error("disk full"));
    expect(notices).toEqual([
      ["warn", 'agent: pool member ejected endpoint=https://a.example.com reason="too many failures"'],
      ["error", "agent: disk full"],
    ]);
  });

  it("does the same for child loggers, and leaves the rest of the logger as it is", () => {
    const { logger, notices } = collecting("info");
    const child = logger.child({ component: "relay" });
    child.info("%s connections", 3);
    expect(notices).toEqual([["info", "agent: 3 connections"]]);
    expect(child.isLevelEnabled("debug")).toBe(false);
    expect(logger.level).toBe("info");
  });
});

describe("describe", () => {
  it("formats pino's call forms", () => {
    expect(describeCall(["plain"])).toBe("plain");
    expect(describeCall([{ a: 1, b: "x y", c: undefined, err: new Error("why") }, "msg"])).toBe('msg a=1 b="x y" err="why"');
    expect(describeCall([new Error("alone")])).toBe("alone");
    expect(describeCall([new Error("cause"), "failed"])).toBe('failed err="cause"');
  });
});

describe("logsReachTerminal", () => {
  it("is true for stderr on a terminal and for stdout, false for files and a redirected stderr", () => {
    expect(logsReachTerminal({}, true)).toBe(true);
    expect(logsReachTerminal({ log: "stderr" }, false)).toBe(false);
    expect(logsReachTerminal({ log: "stdout" }, false)).toBe(true);
    expect(logsReachTerminal({ log: "/var/log/onramp.log" }, true)).toBe(false);
  });
});
