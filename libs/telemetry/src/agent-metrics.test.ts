import { describe, expect, it } from "vitest";
import { createAgentMetrics, MAX_EDGE_LABELS } from "./agent-metrics.js";

describe("createAgentMetrics", () => {
  it("registers the onramp_agent_ metrics and the process metrics on a registry of its own", async () => {
    const a = createAgentMetrics();
    const b = createAgentMetrics();
    const names = a.registry.getMetricsAsArray().map((m) => m.name);
    expect(names.filter((n) => n.startsWith("onramp_")).every((n) => n.startsWith("onramp_agent_"))).toBe(true);
    expect(names).toEqual(
      expect.arrayContaining([
        "onramp_agent_upstream_requests_total",
        "onramp_agent_upstream_request_duration_seconds",
        "onramp_agent_upstream_errors_total",
        "onramp_agent_sessions",
        "onramp_agent_upstream_healthy",
        "process_resident_memory_bytes",
      ]),
    );
    // Two agents in one process (tests, an embedding app) count apart.
    a.requests.inc({ endpoint: "http://a.test", code: "200", error_code: "" });
    expect((await b.requests.get()).values).toEqual([]);
    expect(await a.registry.metrics()).toMatch(/^onramp_agent_upstream_requests_total\{endpoint="http:\/\/a.test",code="200",error_code=""\} 1$/m);
  });

  it("counts sessions at each scrape from the census it is given, folding extra edges into other", async () => {
    const metrics = createAgentMetrics();
    expect((await metrics.sessions.get()).values).toEqual([]);
    let connected = true;
    metrics.countSessions((add) => {
      add({ edge: metrics.edgeLabel("a:1") }, connected ? 1 : 0);
      add({ edge: metrics.edgeLabel("b:1") }, 1);
    });
    const byEdge = async () => Object.fromEntries((await metrics.sessions.get()).values.map((v) => [v.labels.edge, v.value]));
    expect(await byEdge()).toEqual({ "a:1": 1, "b:1": 1 });
    connected = false;
    expect(await byEdge()).toEqual({ "a:1": 0, "b:1": 1 });

    for (let i = 0; i < MAX_EDGE_LABELS; i++) metrics.edgeLabel(`edge-${i}:1`);
    expect(metrics.edgeLabel("one-too-many:1")).toBe("other");
    expect(metrics.edgeLabel("a:1")).toBe("a:1");
  });
});
