import { EventEmitter } from "node:events";
import { createServer as createNetServer, type AddressInfo, type Server as NetServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { HealthChecker, type HealthState } from "./health-check.js";
import { HEALTH_CHECK_USER_AGENT } from "./health-probe.js";
import type { HealthCheckSettings } from "./options.js";
import { closedPort, ScriptedUpstream } from "./scripted-upstream.js";

const checkers: HealthChecker[] = [];
const upstreams: ScriptedUpstream[] = [];

afterEach(async () => {
  for (const c of checkers.splice(0)) c.stop();
  await Promise.all(upstreams.splice(0).map((u) => u.close()));
});

async function scriptedUpstream(): Promise<ScriptedUpstream> {
  const upstream = await ScriptedUpstream.start();
  upstreams.push(upstream);
  return upstream;
}

/** A started checker of `upstream`, its reported changes, and a way to wait for the next one. */
function check(upstream: string, settings: Partial<HealthCheckSettings>, hostHeader?: string) {
  const events = new EventEmitter();
  const changes: HealthState[] = [];
  const all: HealthCheckSettings = { path: undefined, intervalMs: 50, timeoutMs: 40, healthyThreshold: 2, unhealthyThreshold: 2, ...settings };
  const checker = new HealthChecker(
    upstream,
    all,
    (state) => {
      changes.push(state);
      events.emit("change");
    },
    hostHeader,
  );
  checkers.push(checker);
  checker.start();
  /** Resolves with the `n`-th change (1-based) once reported. */
  const change = (n: number) =>
    new Promise<HealthState>((resolve, reject) => {
      const seen = () => {
        const state = changes[n - 1];
        if (!state) return;
        clearTimeout(timer);
        events.off("change", seen);
        resolve(state);
      };
      const timer = setTimeout(() => {
        events.off("change", seen);
        reject(new Error(`timed out waiting for health change ${n}; saw ${JSON.stringify(changes)}`));
      }, 5_000);
      events.on("change", seen);
      seen();
    });
  return { checker, changes, change };
}

describe("HealthChecker over HTTP", () => {
  it.each([
    { unhealthyThreshold: 2, healthyThreshold: 2 },
    { unhealthyThreshold: 3, healthyThreshold: 1 },
  ])("turns unhealthy after $unhealthyThreshold failed GET(s) in a row and healthy again after $healthyThreshold pass(es)", async (thresholds) => {
    const up = await scriptedUpstream();
    const { checker, changes, change } = check(up.origin, { path: "/healthz", ...thresholds });
    await up.until(() => up.answered.length >= 3, "three probes");
    expect(checker.state.healthy).toBe(true);
    expect(changes).toEqual([]);

    up.status = 503;
    const failedFrom = up.answered.length;
    expect(await change(1)).toEqual({ healthy: false, detail: "GET /healthz: 503" });
    // The next probe starts only after this one's result was recorded: exactly the threshold.
    expect(up.answered.slice(failedFrom)).toEqual(Array(thresholds.unhealthyThreshold).fill(503));

    up.status = 204;
    const passedFrom = up.answered.length;
    expect(await change(2)).toEqual({ healthy: true, detail: "GET /healthz: 204" });
    expect(up.answered.slice(passedFrom)).toEqual(Array(thresholds.healthyThreshold).fill(204));
    expect(checker.state).toEqual({ healthy: true, detail: "GET /healthz: 204" });
  });

  it("sends the upstream's own Host and its User-Agent, on a GET of the path", async () => {
    const up = await scriptedUpstream();
    check(up.origin, { path: "/healthz?deep=1" });
    await up.until(() => up.requests.length >= 1, "a probe");
    const [probe] = up.requests;
    expect(probe).toMatchObject({ method: "GET", url: "/healthz?deep=1" });
    expect(probe!.headers.host).toBe(new URL(up.origin).host);
    expect(probe!.headers["user-agent"]).toBe(HEALTH_CHECK_USER_AGENT);
  });

  it("sends the binds' --host-header value as Host, as their requests carry it", async () => {
    const up = await scriptedUpstream();
    check(up.origin, { path: "/healthz" }, "app.internal.example:8443");
    await up.until(() => up.requests.length >= 1, "a probe");
    expect(up.requests[0]!.headers.host).toBe("app.internal.example:8443");
  });

  it("counts 3xx as a pass, and moves nothing on failures that do not come in a row", async () => {
    const up = await scriptedUpstream();
    up.script = [503, 302, 500, 399, 404, 200];
    const { checker, changes } = check(up.origin, { path: "/healthz" });
    // A probe starts only after the previous result was recorded: the 7th request means all six were.
    await up.until(() => up.requests.length >= 7, "the scripted probes");
    expect(changes).toEqual([]);
    expect(checker.state.healthy).toBe(true);
  });

  it("fails a probe that gets no answer within the timeout, and closes its connection", async () => {
    const up = await scriptedUpstream();
    up.hang = true;
    const { change } = check(up.origin, { path: "/healthz", intervalMs: 100, timeoutMs: 30 });
    expect(await change(1)).toEqual({ healthy: false, detail: "GET /healthz: timed out after 30 ms" });
    await up.until(() => up.requests[0]!.closed, "the timed-out probe's connection to close");
  });

  it("fails with the connection error when nothing listens", async () => {
    const port = await closedPort();
    const { change } = check(`http://127.0.0.1:${port}`, { path: "/healthz" });
    expect(await change(1)).toEqual({ healthy: false, detail: `GET /healthz: connect ECONNREFUSED 127.0.0.1:${port}` });
  });

  it("probes at once on start; stop() aborts the probe in flight and reports nothing", async () => {
    const up = await scriptedUpstream();
    up.hang = true;
    const { checker, changes } = check(up.origin, { path: "/healthz", intervalMs: 60_000, timeoutMs: 30_000 });
    await up.until(() => up.requests.length === 1, "the first probe, long before an interval passed");
    checker.stop();
    await up.until(() => up.requests[0]!.closed, "the aborted probe's connection to close");
    expect(changes).toEqual([]);
    expect(checker.state.healthy).toBe(true);
  });
});

describe("HealthChecker over TCP (no path)", () => {
  it("passes while the upstream accepts connections, then fails once it stops listening", async () => {
    const events = new EventEmitter();
    let connections = 0;
    const server: NetServer = createNetServer((socket) => {
      connections++;
      socket.on("error", () => undefined);
      socket.end();
      events.emit("connection");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const { checker, changes, change } = check(`http://127.0.0.1:${port}`, {});
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for 3 probe connections; saw ${connections}`)), 5_000);
        const seen = () => {
          if (connections < 3) return;
          clearTimeout(timer);
          events.off("connection", seen);
          resolve();
        };
        events.on("connection", seen);
      });
      expect(changes).toEqual([]);
      expect(checker.state.healthy).toBe(true);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    expect(await change(1)).toEqual({ healthy: false, detail: `connect ECONNREFUSED 127.0.0.1:${port}` });
  });

  it("fails on a closed port, naming the refusal", async () => {
    const port = await closedPort();
    const { change } = check(`http://127.0.0.1:${port}`, { unhealthyThreshold: 1 });
    expect(await change(1)).toEqual({ healthy: false, detail: `connect ECONNREFUSED 127.0.0.1:${port}` });
  });
});
