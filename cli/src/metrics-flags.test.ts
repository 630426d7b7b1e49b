import { createServer, type Server } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { addMetricsFlag, parseMetricsAddr, resolveMetricsAddr, serveMetrics, type MetricsFlags, type MetricsServer } from "./metrics-flags.js";
import { OnrampCommand } from "./onramp-command.js";

const servers: MetricsServer[] = [];
afterEach(async () => {
  vi.unstubAllEnvs();
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

/** `onramp metrics-test ARGS` with `env` set; the address the flag resolves to. */
function resolved(args: string[], env: Record<string, string> = {}) {
  vi.stubEnv("ONRAMP_METRICS_ADDR", undefined);
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
  const program = new OnrampCommand().exitOverride();
  const command = addMetricsFlag(program.command("metrics-test")).action(() => {});
  program.parse(args, { from: "user" });
  return resolveMetricsAddr(command.opts<MetricsFlags>(), command);
}

describe("--metrics-addr", () => {
  it("is off unless given, by the flag or ONRAMP_METRICS_ADDR, the flag first", () => {
    expect(resolved(["metrics-test"])).toBeUndefined();
    expect(resolved(["metrics-test", "--metrics-addr", "0.0.0.0:9100"])).toEqual({ host: "0.0.0.0", port: 9100, from: "--metrics-addr" });
    expect(resolved(["metrics-test"], { ONRAMP_METRICS_ADDR: "9100" })).toEqual({ host: "127.0.0.1", port: 9100, from: "ONRAMP_METRICS_ADDR" });
    expect(resolved(["metrics-test", "--metrics-addr", "[::1]:0"], { ONRAMP_METRICS_ADDR: "9100" })).toEqual({ host: "::1", port: 0, from: "--metrics-addr" });
  });

  it("refuses what is not host:port, naming where it came from", () => {
    expect(() => parseMetricsAddr("--metrics-addr", "localhost")).toThrow('--metrics-addr: "localhost" is not host:port, e.g. 127.0.0.1:9100');
    expect(() => parseMetricsAddr("ONRAMP_METRICS_ADDR", "127.0.0.1:70000")).toThrow(/^ONRAMP_METRICS_ADDR: "127.0.0.1:70000" is not host:port/);
    expect(() => parseMetricsAddr("--metrics-addr", "[nope]:9100")).toThrow("--metrics-addr: [nope] is not an IPv6 address");
  });
});

describe("serveMetrics", () => {
  it("answers GET /metrics with Prometheus text and every other path with 404", async () => {
    const server = await serveMetrics({ host: "127.0.0.1", port: 0, from: "--metrics-addr" });
    servers.push(server);
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    server.metrics.requests.inc({ endpoint: "http://app.test", code: "200", error_code: "" });

    const res = await fetch(server.url);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const text = await res.text();
    expect(text).toMatch(/^# TYPE onramp_agent_upstream_requests_total counter$/m);
    expect(text).toMatch(/^onramp_agent_upstream_requests_total\{endpoint="http:\/\/app.test",code="200",error_code=""\} 1$/m);
    expect((await fetch(server.url.replace(/\/metrics$/, "/"))).status).toBe(404);
    expect((await fetch(server.url, { method: "POST" })).status).toBe(405);
  });

  it("refuses a taken address with an error naming the flag", async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      await expect(serveMetrics({ host: "127.0.0.1", port, from: "--metrics-addr" })).rejects.toThrow(
        `--metrics-addr 127.0.0.1:${port}: cannot serve metrics there: the address is already in use`,
      );
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});
