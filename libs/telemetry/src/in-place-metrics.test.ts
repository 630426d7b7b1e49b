import { Counter, Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { InPlaceCounter, InPlaceHistogram } from "./in-place-metrics.js";

/** The exposition text of one registry, with the metric names made equal. */
async function text(registry: Registry): Promise<string> {
  return (await registry.metrics()).replaceAll("inplace_", "native_");
}

describe("in-place metrics export exactly what prom-client's own children do", () => {
  it("counters: children by values or by object, several series, increments of any size", async () => {
    const mine = new Registry();
    const theirs = new Registry();
    const a = new InPlaceCounter({ name: "inplace_requests_total", help: "h", labelNames: ["endpoint", "code"], registers: [mine] });
    const b = new Counter({ name: "native_requests_total", help: "h", labelNames: ["endpoint", "code"], registers: [theirs] });
    for (const m of [a, b] as Counter<"endpoint" | "code">[]) {
      const ok = m.labels("http://a.test", "200");
      ok.inc();
      ok.inc(2);
      m.labels({ endpoint: "http://b.test", code: "502" }).inc(0.5);
      m.inc({ endpoint: "http://a.test", code: "200" }, 4);
    }
    expect(await text(mine)).toBe(await text(theirs));
    expect(await text(mine)).toContain('native_requests_total{endpoint="http://a.test",code="200"} 7');
  });

  it("histograms: buckets, +Inf, sum and count match, including values past the last bucket", async () => {
    const mine = new Registry();
    const theirs = new Registry();
    const buckets = [0.001, 0.01, 0.1];
    const a = new InPlaceHistogram({ name: "inplace_duration_seconds", help: "h", labelNames: ["endpoint"], buckets, registers: [mine] });
    const b = new Histogram({ name: "native_duration_seconds", help: "h", labelNames: ["endpoint"], buckets, registers: [theirs] });
    for (const m of [a, b] as Histogram<"endpoint">[]) {
      const child = m.labels("http://a.test");
      for (const v of [0.0005, 0.001, 0.005, 0.05, 0.5, 7]) child.observe(v);
      m.observe({ endpoint: "http://b.test" }, 0.02);
    }
    expect(await text(mine)).toBe(await text(theirs));
  });

  it("a reset empties the series, and children made before it count again after it", async () => {
    const registry = new Registry();
    const c = new InPlaceCounter({ name: "inplace_picks_total", help: "h", labelNames: ["tier"], registers: [registry] });
    const h = new InPlaceHistogram({ name: "inplace_seconds", help: "h", labelNames: ["tier"], buckets: [1], registers: [registry] });
    const edge = c.labels("edge");
    const seconds = h.labels("edge");
    edge.inc(5);
    seconds.observe(0.5);
    registry.resetMetrics();
    expect((await c.get()).values).toEqual([]);
    edge.inc();
    seconds.observe(2);
    expect((await c.get()).values).toEqual([{ labels: { tier: "edge" }, value: 1 }]);
    expect((await h.get()).values.find((v) => (v.labels as Record<string, unknown>).le === "+Inf")?.value).toBe(1);
  });

  it("refuses what prom-client refuses: unknown labels, negative or non-finite values", () => {
    const c = new InPlaceCounter({ name: "inplace_x_total", help: "h", labelNames: ["tier"], registers: [] });
    expect(() => c.labels({ nope: "1" } as never)).toThrow(/unknown label nope/);
    expect(() => c.labels("edge").inc(-1)).toThrow(RangeError);
    const h = new InPlaceHistogram({ name: "inplace_h", help: "h", labelNames: ["tier"], buckets: [1], registers: [] });
    expect(() => h.labels("edge").observe(Number.NaN)).toThrow(RangeError);
  });
});
