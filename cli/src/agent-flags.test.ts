import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { agentSettingsFor as settings } from "./agent-settings-fixture.js";

afterEach(() => void vi.unstubAllEnvs());

describe("agent settings: flags > ONRAMP_* > config file > defaults", () => {
  const file = "authtoken: from-file\nedges: [file.example.com:4443]\nupstream_timeout: 10s\nlog_level: info\nhealth_check_path: /file\nhealth_check_interval: 7s\n";

  it("takes the defaults with nothing set, the embedded edge included", () => {
    expect(settings(["agent-test"])).toMatchObject({ edges: [], authtoken: undefined, drainTimeoutMs: 30_000, log: {}, upstreamTimeoutMs: undefined, embeddedPort: undefined });
  });

  it("takes the config file over the defaults", () => {
    expect(settings(["agent-test"], {}, file)).toMatchObject({
      edges: ["file.example.com:4443"], authtoken: "from-file", upstreamTimeoutMs: 10_000, log: { logLevel: "info" },
      healthCheck: { path: "/file", intervalMs: 7_000 },
    });
  });

  it("takes ONRAMP_* over the file", () => {
    const env = { ONRAMP_AUTHTOKEN: "from-env", ONRAMP_EDGE: "env-a.example.com:1,env-b.example.com:1", ONRAMP_UPSTREAM_TIMEOUT: "20s", ONRAMP_HEALTH_CHECK_PATH: "/env" };
    expect(settings(["agent-test"], env, file)).toMatchObject({
      edges: ["env-a.example.com:1", "env-b.example.com:1"], authtoken: "from-env", upstreamTimeoutMs: 20_000, log: { logLevel: "info" },
      healthCheck: { path: "/env", intervalMs: 7_000 },
    });
  });

  it("takes flags over ONRAMP_* and the file", () => {
    const env = { ONRAMP_AUTHTOKEN: "from-env", ONRAMP_EDGE: "env.example.com:1", ONRAMP_LOG_LEVEL: "debug" };
    const args = ["agent-test", "--authtoken", "from-flag", "--edge", "flag.example.com:1", "--upstream-timeout", "30s", "--health-check-path", "/flag", "--log-level", "error"];
    expect(settings(args, env, file)).toMatchObject({
      edges: ["flag.example.com:1"], authtoken: "from-flag", upstreamTimeoutMs: 30_000, log: { logLevel: "error" },
      healthCheck: { path: "/flag", intervalMs: 7_000 },
    });
  });

  it("checks flag values, naming the flag", () => {
    expect(() => settings(["agent-test", "--edge", "nope"])).toThrow('--edge "nope" is not host:port; use e.g. --edge edge.example.com:4443');
    expect(() => settings(["agent-test", "--port", "70000"])).toThrow('--port: "70000" is not a whole number from 0 to 65535');
    expect(() => settings(["agent-test", "--extra-edges", "x"])).toThrow('--extra-edges: "x" is not a whole number');
  });

  it("refuses --port when an edge is configured, saying where the edge came from", () => {
    expect(settings(["agent-test", "--port", "0"]).embeddedPort).toBe(0);
    expect(() => settings(["agent-test", "--port", "9000", "--edge", "e.example.com:1"])).toThrow("--port sets the embedded edge's port, and with an edge (from --edge) none runs; leave --port out");
    expect(() => settings(["agent-test", "--port", "9000"], { ONRAMP_EDGE: "e.example.com:1" })).toThrow("(from ONRAMP_EDGE)");
    expect(() => settings(["agent-test", "--port", "9000"], {}, file)).toThrow(/\(from the edges in .*onramp\.yml\)/);
  });
});

describe("agent settings for TLS to the edges", () => {
  const dir = mkdtempSync(join(tmpdir(), "onramp-edge-ca-"));
  const caFile = join(dir, "ca.pem");
  const PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
  writeFileSync(caFile, PEM);
  writeFileSync(join(dir, "not-pem.txt"), "hello");

  it("defaults to the system CAs, TLS to every edge not on loopback", () => {
    const s = settings(["agent-test"]);
    expect(s.edgeCa).toBeUndefined();
    expect(s.insecureEdge).toBe(false);
  });

  it("reads --edge-ca, ONRAMP_EDGE_CA and edge_ca (relative to the config file) as PEM text", () => {
    expect(settings(["agent-test", "--edge-ca", caFile]).edgeCa).toBe(PEM);
    expect(settings(["agent-test"], { ONRAMP_EDGE_CA: caFile }).edgeCa).toBe(PEM);
    expect(settings(["agent-test"], {}, `edge_ca: ${caFile}\n`).edgeCa).toBe(PEM);
  });

  it("takes --insecure-edge, ONRAMP_INSECURE_EDGE and insecure_edge", () => {
    expect(settings(["agent-test", "--insecure-edge"]).insecureEdge).toBe(true);
    expect(settings(["agent-test"], { ONRAMP_INSECURE_EDGE: "1" }).insecureEdge).toBe(true);
    expect(settings(["agent-test"], {}, "insecure_edge: true\n").insecureEdge).toBe(true);
  });

  it("lets a flag replace both settings of the file", () => {
    expect(settings(["agent-test", "--edge-ca", caFile], {}, "insecure_edge: true\n")).toMatchObject({ edgeCa: PEM, insecureEdge: false });
  });

  it("refuses both at once, a missing file and a file without a certificate", () => {
    expect(() => settings(["agent-test", "--edge-ca", caFile, "--insecure-edge"])).toThrow("--edge-ca verifies edges over TLS and --insecure-edge turns TLS off; give one of them");
    expect(() => settings(["agent-test", "--edge-ca", join(dir, "missing.pem")])).toThrow(`cannot read --edge-ca ${join(dir, "missing.pem")}: no such file`);
    expect(() => settings(["agent-test", "--edge-ca", join(dir, "not-pem.txt")])).toThrow("no PEM certificate in it");
  });
});
