import { describe, expect, it } from "vitest";
import { createEdgeMetrics } from "./metrics.js";

async function series(metric: { get(): Promise<{ values: Array<{ labels: Record<string, string | number | undefined>; value: number }> }> }) {
  return (await metric.get()).values.map((v) => ({ ...v.labels, value: v.value }));
}

describe("the edge's routing metrics", () => {
  it("counts picks by tier and panic", async () => {
    const metrics = createEdgeMetrics();
    metrics.countPick(0, false);
    metrics.countPick(0, false);
    metrics.countPick(2, true);
    expect(await series(metrics.poolPicks)).toEqual(
      expect.arrayContaining([
        { tier: "edge", panic: "false", value: 2 },
        { tier: "other", panic: "true", value: 1 },
      ]),
    );
    expect(await metrics.registry.metrics()).toMatch(/^onramp_edge_pool_picks_total\{tier="edge",panic="false"\} 2$/m);
  });

  it("recounts pool members at each scrape; URLs folded into other add up", async () => {
    const metrics = createEdgeMetrics();
    const pools = [
      { url: "https://a.test", available: 2, ejected: 0 },
      { url: "https://b.test", available: 1, ejected: 1 },
    ];
    metrics.countPoolMembers((add) => {
      for (const p of pools) {
        add({ endpoint: "other", state: "available" }, p.available);
        add({ endpoint: "other", state: "ejected" }, p.ejected);
      }
    });
    expect(await series(metrics.poolMembers)).toEqual([
      { endpoint: "other", state: "available", value: 3 },
      { endpoint: "other", state: "ejected", value: 1 },
    ]);
    pools.pop();
    // An endpoint that went away leaves no stale series behind.
    expect(await series(metrics.poolMembers)).toEqual([
      { endpoint: "other", state: "available", value: 2 },
      { endpoint: "other", state: "ejected", value: 0 },
    ]);
  });

  it("reads relay bytes from their census as a counter", async () => {
    const metrics = createEdgeMetrics();
    let sent = 10;
    metrics.countRelayBytes((add) => {
      add({ direction: "sent" }, sent);
      add({ direction: "received" }, 4);
    });
    sent = 25;
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^# TYPE onramp_edge_relay_bytes_total counter$/m);
    expect(text).toMatch(/^onramp_edge_relay_bytes_total\{direction="sent"\} 25$/m);
    expect(text).toMatch(/^onramp_edge_relay_bytes_total\{direction="received"\} 4$/m);
  });
});
