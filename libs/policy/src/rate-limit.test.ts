import { describe, expect, it } from "vitest";
import { createMemoryRateLimitStore } from "./rate-limit-store.js";
import { fakeRuntime, policyOf, request } from "./test-fixtures.js";

describe("memory rate-limit store (sliding window)", () => {
  it("allows capacity per window and reports when to retry", () => {
    const store = createMemoryRateLimitStore();
    const t0 = 1_000_000 * 60_000;
    for (let i = 0; i < 3; i++) expect(store.hit("k", 3, 60_000, t0 + i)).toMatchObject({ allowed: true, remaining: 2 - i });
    const denied = store.hit("k", 3, 60_000, t0 + 10);
    expect(denied.allowed).toBe(false);
    // All three fell in the current window: room appears once they weigh little enough in the next.
    expect(denied.retryAfterMs).toBeGreaterThan(60_000 - 10);
    expect(denied.retryAfterMs).toBeLessThanOrEqual(80_000);
    expect(store.hit("other", 3, 60_000, t0 + 10).allowed).toBe(true);
  });

  it("slides: the previous window's hits fade out instead of resetting at once", () => {
    const store = createMemoryRateLimitStore();
    const w = 10_000;
    const t0 = 500 * w;
    for (let i = 0; i < 10; i++) store.hit("k", 10, w, t0 + i);
    // Just after the boundary the previous window still counts almost fully.
    expect(store.hit("k", 10, w, t0 + w + 100).allowed).toBe(false);
    // Halfway through, half of it counts: 5 more fit.
    let allowed = 0;
    for (let i = 0; i < 10; i++) if (store.hit("k", 10, w, t0 + w + w / 2 + i).allowed) allowed++;
    expect(allowed).toBe(5);
    // Two windows later nothing remains.
    expect(store.hit("k", 10, w, t0 + 3 * w).remaining).toBe(9);
  });

  it("retry-after is honest: retrying then succeeds", () => {
    const store = createMemoryRateLimitStore();
    let now = 123_456_789;
    for (let i = 0; i < 5; i++) store.hit("k", 5, 1000, now);
    const d = store.hit("k", 5, 1000, now);
    expect(d.allowed).toBe(false);
    expect(store.hit("k", 5, 1000, now + d.retryAfterMs - 1).allowed).toBe(false);
    now += d.retryAfterMs;
    expect(store.hit("k", 5, 1000, now).allowed).toBe(true);
  });

  it("keeps memory bounded: idle keys are evicted, and at most maxKeys are kept", () => {
    const store = createMemoryRateLimitStore({ maxKeys: 100 });
    for (let i = 0; i < 1000; i++) store.hit(`client-${i}`, 10, 1000, 5_000_000);
    expect(store.size).toBe(100);
    store.hit("late", 10, 1000, 5_000_000 + 10_000);
    expect(store.size).toBe(1);
  });

  it("still sweeps idle keys while one client keeps hitting the same bucket", () => {
    const store = createMemoryRateLimitStore();
    const t0 = 7_000_000;
    for (let i = 0; i < 50; i++) store.hit(`client-${i}`, 10, 1000, t0);
    for (let t = t0; t <= t0 + 5_000; t += 100) store.hit("busy", 1_000_000, 1000, t);
    expect(store.size).toBe(1);
  });

  it("drops the least recently used key beyond maxKeys, keeping a key in use and its count", () => {
    const store = createMemoryRateLimitStore({ maxKeys: 10 });
    const t0 = 9_000_000;
    expect(store.hit("hot", 2, 60_000, t0).allowed).toBe(true);
    expect(store.hit("hot", 2, 60_000, t0).allowed).toBe(true);
    for (let i = 0; i < 30; i++) {
      store.hit(`spray-${i}`, 2, 60_000, t0);
      // Used between the new keys, "hot" is never the least recently used one.
      expect(store.hit("hot", 2, 60_000, t0).allowed, `after spray-${i}`).toBe(false);
      expect(store.size).toBeLessThanOrEqual(10);
    }
    expect(store.size).toBe(10);
  });
});

describe("rate-limit action", () => {
  const policy = policyOf(`
on_http_request:
  - name: per api key
    actions:
      - type: rate-limit
        config:
          name: 30 per minute per key
          algorithm: sliding_window
          capacity: 30
          rate: 1m
          bucket_key: ["getReqHeader('x-api-key')"]
  - expressions: ["actions.ngrok.rate_limit.bucket_key != ''"]
    actions: [{type: add-headers, config: {headers: {x-bucket: "\${actions.ngrok.rate_limit.bucket_key}"}}}]
`);

  it("allows 30 requests per minute per x-api-key, then answers 429 with Retry-After", async () => {
    const rt = fakeRuntime();
    rt.clock.now = 60_000 * 29_000_000;
    for (let i = 0; i < 30; i++) {
      const ctx = request({ headers: { "x-api-key": "alpha" } });
      expect((await policy.onHttpRequest(ctx, rt)).kind, `request ${i}`).toBe("continue");
      expect(ctx.request.headers.get("x-bucket")).toEqual(["alpha"]);
      rt.clock.now += 1000;
    }
    const limited = await policy.onHttpRequest(request({ headers: { "x-api-key": "alpha" } }), rt);
    expect(limited).toMatchObject({ kind: "respond", status: 429, code: "RATE_LIMITED" });
    if (limited.kind !== "respond") return;
    const retryAfter = Number(limited.headers.get("retry-after")?.[0]);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    // Another key has its own bucket.
    expect((await policy.onHttpRequest(request({ headers: { "x-api-key": "beta" } }), rt)).kind).toBe("continue");
    // After Retry-After, the first key is let through again.
    rt.clock.now += retryAfter * 1000;
    expect((await policy.onHttpRequest(request({ headers: { "x-api-key": "alpha" } }), rt)).kind).toBe("continue");
  });

  it("counts per second when asked to (windows shorter than ngrok's 60 s minimum)", async () => {
    const p = policyOf(`on_http_request:\n  - actions: [{type: rate-limit, config: {algorithm: sliding_window, capacity: 2, rate: 1s, bucket_key: [conn.client_ip]}}]\n`);
    const rt = fakeRuntime();
    rt.clock.now = 1_000_000_000;
    const kinds = [];
    for (let i = 0; i < 3; i++) kinds.push((await p.onHttpRequest(request(), rt)).kind);
    expect(kinds).toEqual(["continue", "continue", "respond"]);
    rt.clock.now += 2000;
    expect((await p.onHttpRequest(request(), rt)).kind).toBe("continue");
  });

  it("with enforce: false only publishes the decision", async () => {
    const p = policyOf(`
on_http_request:
  - actions: [{type: rate-limit, config: {enforce: false, algorithm: sliding_window, capacity: 1, rate: 1m}}]
  - expressions: ["actions.ngrok.rate_limit.limited"]
    actions: [{type: custom-response, config: {status_code: 200, body: "would be limited"}}]
`);
    const rt = fakeRuntime();
    expect((await p.onHttpRequest(request(), rt)).kind).toBe("continue");
    expect(await p.onHttpRequest(request(), rt)).toMatchObject({ status: 200, body: "would be limited" });
  });
});
