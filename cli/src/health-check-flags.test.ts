import type { AgentStatus } from "@onramp/agent";
import { ErrorCode } from "@onramp/errors";
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { addHealthCheckFlags, createHealthPrinter, healthCheckOptions, type HealthCheckFlags } from "./health-check-flags.js";

function parse(args: string[]): HealthCheckFlags {
  const command = addHealthCheckFlags(new Command().exitOverride());
  command.parse(args, { from: "user" });
  return command.opts<HealthCheckFlags>();
}

describe("--health-check-* flags", () => {
  it("become agent options, durations in ms", () => {
    const flags = parse([
      "--health-check-path", "/healthz",
      "--health-check-interval", "5s",
      "--health-check-timeout", "500ms",
      "--health-check-healthy-threshold", "3",
      "--health-check-unhealthy-threshold", "1",
    ]);
    expect(healthCheckOptions(flags)).toEqual({ path: "/healthz", intervalMs: 5_000, timeoutMs: 500, healthyThreshold: 3, unhealthyThreshold: 1 });
  });

  it("leave every setting to the agent's defaults when absent; an interval of 0 is kept", () => {
    expect(healthCheckOptions(parse([]))).toEqual({ path: undefined, intervalMs: undefined, timeoutMs: undefined, healthyThreshold: undefined, unhealthyThreshold: undefined });
    expect(healthCheckOptions(parse(["--health-check-interval", "0"])).intervalMs).toBe(0);
  });

  it.each([
    [["--health-check-interval", "often"], "--health-check-interval"],
    [["--health-check-timeout", "1 sec"], "--health-check-timeout"],
    [["--health-check-healthy-threshold", "2.5"], "--health-check-healthy-threshold"],
    [["--health-check-unhealthy-threshold", "two"], "--health-check-unhealthy-threshold"],
  ])("reject %j naming %s", (args, flag) => {
    expect(() => healthCheckOptions(parse(args))).toThrow(expect.objectContaining({ code: ErrorCode.InvalidArgument, message: expect.stringContaining(`${flag}: `) }));
  });
});

describe("createHealthPrinter", () => {
  it("prints each change of an upstream once, however many endpoints share it", () => {
    const lines: string[] = [];
    const print = createHealthPrinter((line) => lines.push(line));
    const health = (bindId: string, healthy: boolean): AgentStatus => ({ kind: "health", bindId, upstream: "http://localhost:3000", healthy, detail: healthy ? "GET /healthz: 200" : "GET /healthz: 503" });
    for (const s of [health("a", false), health("b", false), health("a", true), health("b", true)]) print(s);
    print({ kind: "bound", bindId: "a", url: "http://x.test", edge: "e:1" });
    expect(lines).toEqual(["onramp: upstream http://localhost:3000 unhealthy: GET /healthz: 503\n", "onramp: upstream http://localhost:3000 healthy again\n"]);
  });
});
