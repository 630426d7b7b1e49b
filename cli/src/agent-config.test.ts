import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadAgentConfig, readAgentConfig } from "./agent-config.js";

function configFile(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), "onramp-config-")), "onramp.yml");
  writeFileSync(path, text);
  return path;
}

describe("the agent config", () => {
  it("reads every setting, durations in ms, edges from edge: and edges: without repeats", () => {
    const path = configFile(`# mine
authtoken: s3cret
edge: a.example.com:4443
edges: [b.example.com:4443, a.example.com:4443]
agent_id: laptop
extra_edges: 1
upstream_timeout: 90s
drain_timeout: 5s
log_level: info
log: agent.log
log_format: logfmt
health_check_path: /healthz
health_check_interval: 5s
health_check_timeout: 500ms
health_check_healthy_threshold: 3
health_check_unhealthy_threshold: 1
`);
    const config = loadAgentConfig(path, { required: true });
    expect(config).toMatchObject({
      path,
      found: true,
      authtoken: "s3cret",
      edges: ["a.example.com:4443", "b.example.com:4443"],
      agentId: "laptop",
      extraEdges: 1,
      upstreamTimeoutMs: 90_000,
      drainTimeoutMs: 5_000,
      log: { logLevel: "info", log: "agent.log", logFormat: "logfmt" },
      healthCheck: { path: "/healthz", intervalMs: 5_000, timeoutMs: 500, healthyThreshold: 3, unhealthyThreshold: 1 },
      endpoints: { named: true, list: [] },
    });
  });

  it("reads named endpoints, and the older list form without names", () => {
    const named = loadAgentConfig(configFile(`endpoints:
  web:
    upstream: 3000
    url: http://app.example.com
    pooling_enabled: true
    pool_weight: 2
    traffic_policy:
      on_http_request:
        - actions: [{type: deny}]
  api:
    upstream: localhost:4000
`), { required: true }).endpoints;
    expect(named.named).toBe(true);
    expect(named.list.map((e) => [e.name, e.upstream, e.url, e.poolingEnabled, e.poolWeight])).toEqual([
      ["web", "http://localhost:3000", "http://app.example.com", true, 2],
      ["api", "http://localhost:4000", undefined, false, undefined],
    ]);
    expect(named.list[0]!.policy?.text).toBe("on_http_request:\n  - actions:\n      - type: deny\n");

    const list = loadAgentConfig(configFile("endpoints:\n  - upstream: 3000\n  - upstream: 4000\n"), { required: true }).endpoints;
    expect(list).toMatchObject({ named: false, list: [{ name: undefined, upstream: "http://localhost:3000" }, { upstream: "http://localhost:4000" }] });
  });

  it("is empty when the default file does not exist yet, and an error when a named one does not", () => {
    const path = join(mkdtempSync(join(tmpdir(), "onramp-config-")), "onramp.yml");
    expect(loadAgentConfig(path, { required: false })).toMatchObject({ found: false, edges: [], endpoints: { list: [] } });
    expect(() => loadAgentConfig(path, { required: true })).toThrow(`cannot read config file ${path}: no such file`);
  });

  it("reports every problem at its line and column", () => {
    const path = configFile(`authtoken: s3cret
colour: blue
edges: [ok.example.com:1, nope]
upstream_timeout: 5
log_level: loud
extra_edges: -1
endpoints:
  web:
    upstrem: 3000
  api:
    upstream: 4000
    url: foo
    pool_weight: 0
    traffic_policy: {}
    traffic_policy_file: p.yml
`);
    const { problems } = readAgentConfig(path, { required: true });
    expect(problems.map((p) => `${p.line}:${p.column}: ${p.message}`)).toEqual([
      expect.stringMatching(/^2:1: unknown setting "colour" \(known: authtoken, edges, edge, /),
      '3:27: edges[1]: "nope" is not host:port; an edge is host:port, e.g. edge.example.com:4443',
      "4:19: upstream_timeout: 5 needs a unit, e.g. 5s or 300ms",
      '5:12: log_level: "loud" is not one of trace, debug, info, warn, error, silent',
      "6:14: extra_edges: must be a whole number, got -1",
      '9:5: endpoints.web: unknown key "upstrem" (known: upstream, url, pooling_enabled, pool_weight, traffic_policy, traffic_policy_file, inspect)',
      "9:5: endpoints.web.upstream: is required (a port, host:port or URL of the local service)",
      '12:10: endpoints.api.url "foo" is not a URL; use e.g. url: http://app.example.com or url: https://api.internal',
      "13:18: endpoints.api.pool_weight: must be an integer from 1 to 1000 (the member's share of the pool relative to the others), got 0",
      "15:26: endpoints.api: give traffic_policy or traffic_policy_file, not both",
    ]);
    expect(() => loadAgentConfig(path, { required: true })).toThrow(`${path}:2:1: unknown setting "colour"`);
  });

  it("reports YAML syntax errors with their position, and a top level that is not a mapping", () => {
    expect(readAgentConfig(configFile("authtoken: [unclosed\n"), { required: true }).problems[0]).toMatchObject({ line: 2, message: expect.stringMatching(/^YAML syntax error: /) });
    expect(readAgentConfig(configFile("- a\n- b\n"), { required: true }).problems).toEqual([{ line: 1, column: 1, message: "the top level must be a mapping of settings, e.g. authtoken: …" }]);
  });
});
