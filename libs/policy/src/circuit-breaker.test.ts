import { describe, expect, it } from "vitest";
import { CircuitBreaker } from "./circuit-breaker.js";
import { settleCircuitBreakers } from "./outcome.js";
import { fakeRuntime, policyOf, request } from "./test-fixtures.js";

describe("circuit breaker state machine", () => {
  const settings = { errorThreshold: 0.5, volumeThreshold: 4, windowMs: 10_000, trippedDurationMs: 5_000, numBuckets: 10 };

  it("trips at the threshold with enough volume, probes after the tripped duration, and closes on success", () => {
    const b = new CircuitBreaker(settings);
    let t = 1_000_000;
    for (const failed of [false, true, false]) b.record(t++, failed, false);
    expect(b.stateAt(t)).toBe("closed"); // 1/3 failed, and below the volume threshold
    b.record(t++, true, false); // 2/4 = 50 %
    expect(b.stateAt(t)).toBe("open");
    expect(b.admit(t)).toEqual({ admitted: false, retryAfterMs: 4_999 });
    t += 5_000;
    const probe = b.admit(t);
    expect(probe).toEqual({ admitted: true, probe: true });
    expect(b.admit(t + 1).admitted).toBe(false); // one probe at a time
    b.record(t + 2, false, true);
    expect(b.stateAt(t + 2)).toBe("closed");
    expect(b.admit(t + 3)).toEqual({ admitted: true, probe: false });
  });

  it("re-opens when the probe fails, and forgets errors older than the window", () => {
    const b = new CircuitBreaker(settings);
    let t = 2_000_000;
    for (let i = 0; i < 4; i++) b.record(t, true, false);
    expect(b.stateAt(t)).toBe("open");
    t += 5_000;
    expect(b.admit(t)).toMatchObject({ admitted: true, probe: true });
    b.record(t, true, true);
    expect(b.stateAt(t + 1)).toBe("open");

    const c = new CircuitBreaker(settings);
    for (let i = 0; i < 3; i++) c.record(t, true, false);
    c.record(t + 20_000, true, false); // the old errors have left the window
    expect(c.stateAt(t + 20_000)).toBe("closed");
  });
});

describe("circuit-breaker action", () => {
  it("answers 503 once the upstream fails, then recovers after the tripped duration", async () => {
    const policy = policyOf(`
on_http_request:
  - actions:
      - type: circuit-breaker
        config: {error_threshold: "50%", volume_threshold: 2, window_duration: 10s, tripped_duration: 3s}
`);
    const rt = fakeRuntime();
    for (const status of [500, 502]) {
      const out = await policy.onHttpRequest(request(), rt);
      expect(out.kind).toBe("continue");
      expect(out.circuitBreakers).toHaveLength(1);
      settleCircuitBreakers(out, status);
      settleCircuitBreakers(out, 200); // settling twice is ignored
    }
    const open = await policy.onHttpRequest(request(), rt);
    expect(open).toMatchObject({ kind: "respond", status: 503, code: "CIRCUIT_OPEN" });
    if (open.kind === "respond") expect(open.headers.get("retry-after")).toEqual(["3"]);
    rt.clock.now += 3_000;
    const probe = await policy.onHttpRequest(request(), rt);
    expect(probe.kind).toBe("continue");
    settleCircuitBreakers(probe, 200);
    expect((await policy.onHttpRequest(request(), rt)).kind).toBe("continue");
  });

  it("never trips with enforce: false", async () => {
    const policy = policyOf("on_http_request:\n  - actions: [{type: circuit-breaker, config: {enforce: false, volume_threshold: 1}}]\n");
    const rt = fakeRuntime();
    for (let i = 0; i < 5; i++) {
      const out = await policy.onHttpRequest(request(), rt);
      expect(out.kind).toBe("continue");
      settleCircuitBreakers(out, "error");
    }
  });
});
