import { readFileSync } from "node:fs";
import type { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { createAgentMetrics } from "./agent-metrics.js";
import { createEdgeMetrics } from "./metrics.js";

// The Grafana dashboard shipped in deploy/grafana is checked against the metrics the code
// registers, so a renamed metric or label breaks this test instead of a panel in production.

interface Target {
  expr: string;
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { uid?: string };
  gridPos: { x: number; y: number; w: number; h: number };
  targets?: Target[];
  panels?: Panel[];
}
interface Dashboard {
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query: string | { query: string } }> };
}

const dashboard = JSON.parse(readFileSync(new URL("../../../deploy/grafana/onramp-dashboard.json", import.meta.url), "utf8")) as Dashboard;
const panels = dashboard.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
const exprs = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));

/** Labels Prometheus adds to every series it scrapes. */
const TARGET_LABELS = ["instance", "job"];

/** Series name → its label names, for every metric of both registries (histograms as their _bucket, _sum and _count series). */
function seriesOf(...registries: Registry[]): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const registry of registries) {
    for (const metric of registry.getMetricsAsArray()) {
      const { name, labelNames = [] } = metric as unknown as { name: string; labelNames?: string[] };
      const { type } = metric as unknown as { type: string };
      const labels = new Set([...labelNames, ...TARGET_LABELS]);
      if (type === "histogram") {
        out.set(`${name}_bucket`, new Set([...labels, "le"]));
        out.set(`${name}_sum`, labels);
        out.set(`${name}_count`, labels);
      } else if (type === "summary") {
        out.set(name, new Set([...labels, "quantile"]));
        out.set(`${name}_sum`, labels);
        out.set(`${name}_count`, labels);
      } else {
        out.set(name, labels);
      }
    }
  }
  return out;
}

const known = seriesOf(createEdgeMetrics().registry, createAgentMetrics().registry);

/** PromQL words that are not metric names: aggregation operators (`sum by (x) (…)` has no call parenthesis after `sum`) and modifiers. */
const KEYWORDS = new Set([
  ...["sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk", "quantile"],
  ...["by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "and", "or", "unless"],
]);

/** The metric names a PromQL expression selects, each with the labels its matchers name. */
function selectors(expr: string): Array<{ name: string; labels: string[] }> {
  const out: Array<{ name: string; labels: string[] }> = [];
  const text = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/\[[^\]]*\]/g, "");
  for (const m of text.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\})?\s*(\()?/g)) {
    const [, word, matchers, call] = m;
    const before = text.slice(0, m.index).trimEnd();
    // Function calls, keywords, and the label lists of by (...) / without (...) are not selectors.
    if (call || KEYWORDS.has(word!) || /\b(by|without|on|ignoring)\s*\([^)]*$/.test(before) || /\{[^}]*$/.test(before)) continue;
    out.push({ name: word!, labels: [...(matchers ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)].map((l) => l[1]!) });
  }
  return out;
}

/** Labels named in `by (...)` and `without (...)` clauses. */
function groupingLabels(expr: string): string[] {
  return [...expr.matchAll(/\b(?:by|without)\s*\(([^)]*)\)/g)].flatMap((m) => m[1]!.split(",").map((l) => l.trim()).filter(Boolean));
}

describe("deploy/grafana/onramp-dashboard.json", () => {
  it("uses only metrics and labels the edge and the agent register", () => {
    expect(exprs.length).toBeGreaterThan(20);
    const problems: string[] = [];
    for (const { panel, expr } of exprs) {
      const used = selectors(expr);
      if (used.length === 0) problems.push(`${panel}: no metric in ${expr}`);
      const labelsHere = new Set<string>();
      for (const { name, labels } of used) {
        const has = known.get(name);
        if (!has) {
          problems.push(`${panel}: ${name} is not a metric of createEdgeMetrics() or createAgentMetrics()`);
          continue;
        }
        has.forEach((l) => labelsHere.add(l));
        for (const label of labels) if (!has.has(label)) problems.push(`${panel}: ${name} has no label ${label}`);
      }
      for (const label of groupingLabels(expr)) if (!labelsHere.has(label)) problems.push(`${panel}: groups by ${label}, which none of its metrics has`);
    }
    expect(problems).toEqual([]);
  });

  it("shows what an operator of a mesh looks for", () => {
    const used = new Set(exprs.flatMap(({ expr }) => selectors(expr).map((s) => s.name)));
    for (const name of [
      "onramp_edge_http_requests_total",
      "onramp_edge_http_request_duration_seconds_bucket",
      "onramp_edge_policy_rejections_total",
      "onramp_edge_pool_members",
      "onramp_edge_pool_picks_total",
      "onramp_edge_retries_total",
      "onramp_edge_pool_ejections_total",
      "onramp_edge_relay_streams_total",
      "onramp_edge_agent_sessions",
      "onramp_edge_upgrades_total",
      "onramp_agent_upstream_request_duration_seconds_bucket",
      "onramp_agent_upstream_errors_total",
      "onramp_agent_sessions",
    ]) {
      expect(used, name).toContain(name);
    }
  });

  it("takes its data source and endpoints from variables, so it imports into any Grafana", () => {
    const variables = new Map(dashboard.templating.list.map((v) => [v.name, v]));
    expect(variables.get("DS_PROMETHEUS")).toMatchObject({ type: "datasource", query: "prometheus" });
    const endpoint = variables.get("endpoint")!;
    const query = typeof endpoint.query === "string" ? endpoint.query : endpoint.query.query;
    const m = /^label_values\((\w+),\s*(\w+)\)$/.exec(query);
    expect(m && known.get(m[1]!)?.has(m[2]!)).toBe(true);
    for (const panel of panels.filter((p) => p.type !== "row")) expect(panel.datasource?.uid, panel.title).toBe("${DS_PROMETHEUS}");
  });

  it("lays panels out on Grafana's 24-column grid with unique ids", () => {
    const ids = panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const p of panels) expect(p.gridPos.x + p.gridPos.w, p.title).toBeLessThanOrEqual(24);
  });
});
