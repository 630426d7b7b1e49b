import { EventEmitter } from "node:events";
import { afterEach, describe, expect, it } from "vitest";
import { BindHealth, type HealthChange } from "./bind-health.js";
import type { HealthCheckSettings } from "./options.js";
import { ScriptedUpstream } from "./scripted-upstream.js";

const SETTINGS: HealthCheckSettings = { path: "/healthz", intervalMs: 50, timeoutMs: 40, healthyThreshold: 2, unhealthyThreshold: 2 };
const closers: Array<() => unknown> = [];

afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

function bindHealth(settings: HealthCheckSettings | undefined) {
  const events = new EventEmitter();
  const changes: HealthChange[] = [];
  const health = new BindHealth(settings, (c) => {
    changes.push(c);
    events.emit("change");
  });
  closers.push(() => health.close());
  const reported = (n: number) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${n} change(s); saw ${JSON.stringify(changes)}`)), 5_000);
      const seen = () => {
        if (changes.length < n) return;
        clearTimeout(timer);
        events.off("change", seen);
        resolve();
      };
      events.on("change", seen);
      seen();
    });
  return { health, changes, reported };
}

describe("BindHealth", () => {
  it("probes an upstream once for all the binds that share it, and reports them together", async () => {
    const up = await ScriptedUpstream.start();
    closers.push(() => up.close());
    const { health, changes, reported } = bindHealth(SETTINGS);
    health.track("bind_a", up.origin);
    health.track("bind_b", up.origin);
    await up.until(() => up.answered.length >= 2, "two probes");
    up.status = 500;
    const failedFrom = up.answered.length;
    await reported(1);
    // One checker: exactly the threshold of failures, not one series per bind.
    expect(up.answered.slice(failedFrom)).toEqual([500, 500]);
    expect(changes).toEqual([{ upstream: up.origin, bindIds: ["bind_a", "bind_b"], state: { healthy: false, detail: "GET /healthz: 500" } }]);
    expect(health.stateOf("bind_a")).toEqual({ healthy: false, detail: "GET /healthz: 500" });

    health.untrack("bind_a");
    expect(health.stateOf("bind_a")).toBeUndefined();
    expect(health.stateOf("bind_b")?.healthy).toBe(false);
    up.status = 200;
    await reported(2);
    expect(changes[1]).toEqual({ upstream: up.origin, bindIds: ["bind_b"], state: { healthy: true, detail: "GET /healthz: 200" } });
  });

  it("stops an upstream's checker with its last bind", async () => {
    const up = await ScriptedUpstream.start();
    closers.push(() => up.close());
    up.hang = true;
    const { health } = bindHealth({ ...SETTINGS, intervalMs: 60_000, timeoutMs: 30_000 });
    health.track("bind_a", up.origin);
    await up.until(() => up.requests.length === 1, "the first probe");
    health.untrack("bind_a");
    // The probe in flight is aborted: its connection closes long before its timeout.
    await up.until(() => up.requests[0]!.closed, "the aborted probe's connection to close");
  });

  it("checks nothing when disabled: every bind counts as healthy", () => {
    const { health } = bindHealth(undefined);
    health.track("bind_a", "http://127.0.0.1:1");
    expect(health.stateOf("bind_a")).toBeUndefined();
  });
});
