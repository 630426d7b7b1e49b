import { ErrorCode } from "@onramp/errors";
import { describe, expect, it } from "vitest";
import { resolveAgentOptions } from "./options.js";

describe("resolveAgentOptions", () => {
  it("defaults: no extra edges, 30 s drain, a random agent id that passes its own check", () => {
    const o = resolveAgentOptions({ edge: "a:4443" });
    expect(o.extraEdges).toBe(0);
    expect(o.drainTimeoutMs).toBe(30_000);
    expect(o.agentId).toMatch(/^[A-Za-z0-9._:@-]{1,64}$/);
    expect(resolveAgentOptions({ edge: "a:4443", agentId: o.agentId }).agentId).toBe(o.agentId);
    expect(resolveAgentOptions({ edge: "a:4443" }).agentId).not.toBe(o.agentId);
  });

  it("keeps each edge address once, in order", () => {
    expect(resolveAgentOptions({ edge: ["b:1", " a:2", "b:1", "[::1]:3"] }).edges).toEqual(["b:1", "a:2", "[::1]:3"]);
  });

  it("accepts an explicit agent id of the allowed characters", () => {
    expect(resolveAgentOptions({ edge: "a:1", agentId: "web-1.prod:eu@team_x" }).agentId).toBe("web-1.prod:eu@team_x");
    expect(resolveAgentOptions({ edge: "a:1", agentId: "x".repeat(64) }).agentId).toHaveLength(64);
  });

  it.each([
    [{ agentId: "" }, "agentId"],
    [{ agentId: "x".repeat(65) }, "agentId"],
    [{ agentId: "has space" }, "agentId"],
    [{ agentId: "slash/no" }, "agentId"],
    [{ extraEdges: -1 }, "extraEdges"],
    [{ extraEdges: 17 }, "extraEdges"],
    [{ extraEdges: 1.5 }, "extraEdges"],
    [{ drainTimeoutMs: -1 }, "drainTimeoutMs"],
    [{ drainTimeoutMs: 0.5 }, "drainTimeoutMs"],
    [{ edge: "no-port" }, "edge"],
    [{ healthCheck: { path: "healthz" } }, "healthCheck.path"],
    [{ healthCheck: { path: "/health z" } }, "healthCheck.path"],
    [{ healthCheck: { intervalMs: -1 } }, "healthCheck.intervalMs"],
    [{ healthCheck: { intervalMs: 5 } }, "healthCheck.intervalMs"],
    [{ healthCheck: { intervalMs: 1.5 } }, "healthCheck.intervalMs"],
    [{ healthCheck: { intervalMs: 1_000, timeoutMs: 1_000 } }, "healthCheck.timeoutMs"],
    [{ healthCheck: { timeoutMs: 0 } }, "healthCheck.timeoutMs"],
    [{ healthCheck: { intervalMs: 0, timeoutMs: -1 } }, "healthCheck.timeoutMs"],
    [{ healthCheck: { healthyThreshold: 0 } }, "healthCheck.healthyThreshold"],
    [{ healthCheck: { unhealthyThreshold: 11 } }, "healthCheck.unhealthyThreshold"],
    [{ healthCheck: { unhealthyThreshold: Number.NaN } }, "healthCheck.unhealthyThreshold"],
  ])("rejects %j naming %s", (bad, field) => {
    expect(() => resolveAgentOptions({ edge: "a:1", ...bad })).toThrow(expect.objectContaining({ code: ErrorCode.InvalidArgument, message: expect.stringContaining(`agent option ${field}:`) }));
  });

  it("health checks: a TCP connect every 2 s with a 1 s timeout and thresholds of 2, by default", () => {
    expect(resolveAgentOptions({ edge: "a:1" }).healthCheck).toEqual({ path: undefined, intervalMs: 2_000, timeoutMs: 1_000, healthyThreshold: 2, unhealthyThreshold: 2 });
  });

  it("health checks: off with interval 0; a short interval halves the default timeout", () => {
    expect(resolveAgentOptions({ edge: "a:1", healthCheck: { intervalMs: 0, path: "/healthz" } }).healthCheck).toBeUndefined();
    expect(resolveAgentOptions({ edge: "a:1", healthCheck: { intervalMs: 500 } }).healthCheck?.timeoutMs).toBe(250);
    expect(resolveAgentOptions({ edge: "a:1", healthCheck: { path: "/healthz?full=1", intervalMs: 10, timeoutMs: 9, healthyThreshold: 10, unhealthyThreshold: 1 } }).healthCheck).toEqual({
      path: "/healthz?full=1",
      intervalMs: 10,
      timeoutMs: 9,
      healthyThreshold: 10,
      unhealthyThreshold: 1,
    });
  });

  it("accepts the bounds", () => {
    const o = resolveAgentOptions({ edge: "a:1", extraEdges: 16, drainTimeoutMs: 0 });
    expect([o.extraEdges, o.drainTimeoutMs]).toEqual([16, 0]);
  });
});
