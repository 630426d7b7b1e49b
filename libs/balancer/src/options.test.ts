import { describe, expect, it } from "vitest";
import { OutlierDetector, Pool, type PoolOptions } from "./index.js";
import { resolvePoolOptions } from "./options.js";

describe("pool options", () => {
  it("defaults every option", () => {
    const resolved = resolvePoolOptions();
    expect(resolved).toMatchObject({
      localEdge: undefined,
      localRegion: undefined,
      overprovisioning: 1.4,
      panicThreshold: 0.25,
      outlier: { consecutiveFailures: 5, baseEjectionMs: 10_000, maxEjectionMs: 300_000, maxEjectionPercent: 50 },
    });
    expect(resolved.random).toBe(Math.random);
  });

  const bad: [string, PoolOptions][] = [
    ["localEdge", { localEdge: "" }],
    ["localRegion", { localRegion: 7 as unknown as string }],
    ["overprovisioning", { overprovisioning: 0.9 }],
    ["overprovisioning", { overprovisioning: Number.POSITIVE_INFINITY }],
    ["panicThreshold", { panicThreshold: 1.5 }],
    ["panicThreshold", { panicThreshold: Number.NaN }],
    ["random", { random: 0.5 as unknown as () => number }],
    ["outlier.consecutiveFailures", { outlier: { consecutiveFailures: 0 } }],
    ["outlier.consecutiveFailures", { outlier: { consecutiveFailures: 2.5 } }],
    ["outlier.baseEjectionMs", { outlier: { baseEjectionMs: 0 } }],
    ["outlier.maxEjectionMs", { outlier: { baseEjectionMs: 20_000, maxEjectionMs: 10_000 } }],
    ["outlier.maxEjectionPercent", { outlier: { maxEjectionPercent: 101 } }],
    ["outlier.maxEjectionPercent", { outlier: { maxEjectionPercent: -1 } }],
  ];
  it.each(bad)("rejects a bad %s, naming it", (field, options) => {
    expect(() => new Pool(options)).toThrow(`balancer option ${field} must be`);
  });

  it("validates the outlier detector's options on its own too", () => {
    expect(() => new OutlierDetector({ maxEjectionMs: 1 })).toThrow("balancer option outlier.maxEjectionMs must be");
  });
});
