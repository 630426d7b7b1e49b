import { describe, expect, it } from "vitest";
import { type MemberInfo, Pool, type PoolOptions } from "./index.js";
import { countPicks, expectPick, member, mulberry32 } from "./test-fixtures.js";

/** A pool seen from edge-1 in eu, with a seeded random so every run draws the same numbers. */
function pool(options: PoolOptions = {}, seed = 7): Pool<MemberInfo> {
  return new Pool<MemberInfo>({ localEdge: "edge-1", localRegion: "eu", random: mulberry32(seed), ...options });
}

/** Share of `n` sequential picks that went to each tier. */
function tierShares(p: Pool<MemberInfo>, n: number): [number, number, number] {
  const shares: [number, number, number] = [0, 0, 0];
  for (let i = 0; i < n; i++) {
    const result = expectPick(p.pick(undefined, 0));
    shares[result.tier] += 1 / n;
    result.release();
  }
  return shares;
}

describe("Pool: tiers and spill-over", () => {
  it("sends all traffic to members on this edge while they are healthy", () => {
    const p = pool();
    p.add(member("a", "edge-1"));
    p.add(member("b", "edge-1"));
    p.add(member("c", "edge-2"));
    p.add(member("d", "edge-3", "us"));
    const seen = countPicks(p, 1000);
    expect(Object.keys(seen).sort()).toEqual(["a", "b"]);
    expect(expectPick(p.pick(undefined, 0)).tier).toBe(0);
  });

  it("falls back to this region, then to other regions, as nearer tiers fail", () => {
    const p = pool({ panicThreshold: 0 });
    p.add(member("local", "edge-1"));
    p.add(member("region", "edge-2"));
    p.add(member("far", "edge-3", "us"));
    p.setHealthy("local", false);
    expect(countPicks(p, 20)).toEqual({ region: 20 });
    p.setHealthy("region", false);
    expect(countPicks(p, 20)).toEqual({ far: 20 });
    p.setHealthy("local", true);
    expect(countPicks(p, 20)).toEqual({ local: 20 });
  });

  it("keeps all of a tier's traffic when a minority of it is down (overprovisioning 1.4)", () => {
    const p = pool();
    for (let i = 0; i < 5; i++) p.add(member(`near-${i}`, "edge-1"));
    for (let i = 0; i < 5; i++) p.add(member(`region-${i}`, "edge-2"));
    p.setHealthy("near-0", false);
    expect(tierShares(p, 2000)).toEqual([1, 0, 0].map((x) => expect.closeTo(x, 9)));
  });

  it("spills a share proportional to lost health: 2 of 5 healthy → health 0.56, 44 % spills", () => {
    const p = pool();
    for (let i = 0; i < 5; i++) p.add(member(`near-${i}`, "edge-1"));
    for (let i = 0; i < 5; i++) p.add(member(`region-${i}`, "edge-2"));
    for (const id of ["near-0", "near-1", "near-2"]) p.setHealthy(id, false);
    const [near, region, far] = tierShares(p, 10_000);
    expect(near).toBeGreaterThan(0.53);
    expect(near).toBeLessThan(0.59);
    expect(region).toBeGreaterThan(0.41);
    expect(region).toBeLessThan(0.47);
    expect(far).toBe(0);
  });

  it("spills without inflation when overprovisioning is 1", () => {
    const p = pool({ overprovisioning: 1 });
    for (let i = 0; i < 5; i++) p.add(member(`near-${i}`, "edge-1"));
    p.add(member("region", "edge-2"));
    p.setHealthy("near-0", false);
    const [near] = tierShares(p, 10_000);
    expect(near).toBeGreaterThan(0.77);
    expect(near).toBeLessThan(0.83);
  });

  it("still sends every request somewhere when every tier is degraded (normalised health)", () => {
    const p = pool({ panicThreshold: 0 });
    for (let i = 0; i < 5; i++) p.add(member(`near-${i}`, "edge-1"));
    for (let i = 0; i < 5; i++) p.add(member(`far-${i}`, "edge-9", "us"));
    for (let i = 1; i < 5; i++) p.setHealthy(`near-${i}`, false);
    for (let i = 1; i < 5; i++) p.setHealthy(`far-${i}`, false);
    const [near, region, far] = tierShares(p, 10_000);
    expect(near).toBeGreaterThan(0.47);
    expect(near).toBeLessThan(0.53);
    expect(region).toBe(0);
    expect(far).toBeCloseTo(1 - near, 9);
  });

  it("puts no member in tier 0 without localEdge, and every edge in tier 1 without localRegion", () => {
    const noEdge = new Pool<MemberInfo>({ localRegion: "eu" });
    noEdge.add(member("a", "edge-1", "eu"));
    noEdge.add(member("b", "edge-2", "us"));
    expect(noEdge.snapshot(0).map((m) => m.tier)).toEqual([1, 2]);
    const neither = new Pool<MemberInfo>();
    neither.add(member("a", "edge-1", "eu"));
    neither.add(member("b", "edge-2", "us"));
    expect(neither.snapshot(0).map((m) => m.tier)).toEqual([1, 1]);
  });

  it("re-tiers a member whose info changes, keeping its state", () => {
    const p = pool();
    p.add(member("a", "edge-2"));
    p.setHealthy("a", false);
    p.add(member("a", "edge-1", "eu", 4));
    expect(p.snapshot(0)[0]).toMatchObject({ id: "a", tier: 0, weight: 4, healthy: false });
  });
});

describe("Pool: choosing within a tier", () => {
  it("alternates between idle members, spreading sequential traffic evenly", () => {
    const p = pool();
    p.add(member("a"));
    p.add(member("b"));
    expect(countPicks(p, 100)).toEqual({ a: 50, b: 50 });
  });

  it("prefers the member with fewer outstanding requests", () => {
    const p = pool();
    p.add(member("a"));
    p.add(member("b"));
    const busy = expectPick(p.pick(undefined, 0));
    const other = busy.member.id === "a" ? "b" : "a";
    expect(countPicks(p, 1, { hold: true })).toEqual({ [other]: 1 });
  });

  it("gives a 3:1 share to a 3:1 weighting under sequential load", () => {
    const p = pool();
    p.add(member("heavy", "edge-1", "eu", 3));
    p.add(member("light", "edge-1", "eu", 1));
    const seen = countPicks(p, 400);
    expect(seen.heavy).toBeGreaterThanOrEqual(295);
    expect(seen.heavy).toBeLessThanOrEqual(305);
  });

  it("balances outstanding requests per unit of weight under concurrent load", () => {
    const p = pool();
    p.add(member("heavy", "edge-1", "eu", 3));
    p.add(member("light", "edge-1", "eu", 1));
    countPicks(p, 400, { hold: true });
    expect(p.outstanding("heavy")).toBe(300);
    expect(p.outstanding("light")).toBe(100);
  });

  it("spreads concurrent load across many members", () => {
    const p = pool();
    for (const id of ["a", "b", "c", "d"]) p.add(member(id));
    const seen = countPicks(p, 400, { hold: true });
    for (const id of ["a", "b", "c", "d"]) expect(seen[id]).toBeGreaterThanOrEqual(90);
  });

  it("steers away from a remote member other edges report busy", () => {
    const p = pool();
    p.add(member("busy", "edge-2"));
    p.add(member("idle", "edge-3"));
    p.setReportedLoad("busy", 10);
    expect(countPicks(p, 10, { hold: true })).toEqual({ idle: 10 });
    expect(p.snapshot(0).find((m) => m.id === "busy")).toMatchObject({ reportedLoad: 10, outstanding: 0 });
  });

  it("rejects a bad reported load and a bad weight, naming the member", () => {
    const p = pool();
    p.add(member("a"));
    expect(() => p.setReportedLoad("a", -1)).toThrow(/member a: reported load/);
    expect(() => p.setReportedLoad("a", Number.NaN)).toThrow(/member a: reported load/);
    for (const weight of [0, 1001, 1.5]) expect(() => p.add(member("w", "edge-1", "eu", weight))).toThrow(/member w: weight/);
  });
});

describe("Pool: member state, queue and fail", () => {
  it("fails with a reason instead of returning nothing", () => {
    const p = pool();
    expect(p.pick(undefined, 0)).toEqual({ kind: "fail", reason: "no-members" });
    p.add(member("a"));
    p.setDraining("a", true);
    expect(p.pick(undefined, 0)).toEqual({ kind: "fail", reason: "no-available-members" });
    p.setDraining("a", false);
    expect(p.pick(new Set(["a"]), 0)).toEqual({ kind: "fail", reason: "no-available-members" });
  });

  it("never picks a draining member, not even in panic", () => {
    const p = pool();
    p.add(member("draining"));
    p.add(member("sick"));
    p.setDraining("draining", true);
    p.setHealthy("draining", false);
    p.setHealthy("sick", false);
    expect(countPicks(p, 50)).toEqual({ sick: 50 });
    p.setDraining("sick", true);
    expect(p.pick(undefined, 0)).toEqual({ kind: "fail", reason: "no-available-members" });
  });

  it("queues while the only members are waiting for a connection", () => {
    const p = pool();
    p.add(member("a", "edge-2"));
    p.add(member("b", "edge-3"));
    p.setReady("a", false);
    expect(countPicks(p, 5)).toEqual({ b: 5 });
    p.setReady("b", false);
    expect(p.pick(undefined, 0)).toEqual({ kind: "queue", reason: "members-not-ready" });
    p.setReady("a", true);
    expect(countPicks(p, 5)).toEqual({ a: 5 });
  });

  it("does not queue for a member that would not be picked once ready", () => {
    const p = pool();
    p.add(member("a"));
    p.add(member("b"));
    p.setReady("a", false);
    expect(p.pick(new Set(["a", "b"]), 0)).toEqual({ kind: "fail", reason: "no-available-members" });
    p.setDraining("a", true);
    expect(p.pick(new Set(["b"]), 0)).toEqual({ kind: "fail", reason: "no-available-members" });
    p.setDraining("a", false);
    p.setHealthy("a", false);
    expect(p.pick(new Set(["b"]), 0)).toEqual({ kind: "fail", reason: "no-available-members" });
    p.setHealthy("a", true);
    expect(p.pick(new Set(["b"]), 0)).toEqual({ kind: "queue", reason: "members-not-ready" });
  });

  it("skips excluded members, spilling to the next tier when the near one is used up", () => {
    const p = pool();
    p.add(member("a", "edge-1"));
    p.add(member("b", "edge-2"));
    const result = expectPick(p.pick(new Set(["a"]), 0));
    expect([result.member.id, result.tier]).toEqual(["b", 1]);
  });

  it("counts a release only once", () => {
    const p = pool();
    p.add(member("a"));
    const result = expectPick(p.pick(undefined, 0));
    result.release();
    result.release();
    expect(p.outstanding("a")).toBe(0);
  });

  it("sends everything to the remaining member when one leaves", () => {
    const p = pool();
    p.add(member("a"));
    p.add(member("b"));
    expect(p.remove("a")).toBe(true);
    expect(p.remove("a")).toBe(false);
    expect(countPicks(p, 10)).toEqual({ b: 10 });
  });

  it("reports every member's state in a snapshot", () => {
    const p = pool();
    p.add(member("a", "edge-1", "eu", 2));
    p.add(member("b", "edge-2", "us"));
    p.setReady("b", false);
    p.setReportedLoad("b", 3);
    countPicks(p, 2, { hold: true });
    for (let i = 0; i < 5; i++) p.report("a", "reset", 1_000);
    expect(p.snapshot(1_000)).toEqual([
      { id: "a", edge: "edge-1", region: "eu", weight: 2, tier: 0, healthy: true, ready: true, draining: false, ejectedUntil: 11_000, outstanding: 2, reportedLoad: 0, picks: 2 },
      { id: "b", edge: "edge-2", region: "us", weight: 1, tier: 2, healthy: true, ready: false, draining: false, ejectedUntil: undefined, outstanding: 0, reportedLoad: 3, picks: 0 },
    ]);
  });
});

describe("Pool: panic routing", () => {
  it("engages below the threshold, spreading over every ready member, and says so", () => {
    const p = pool();
    for (const id of ["a", "b", "c", "d"]) p.add(member(id));
    for (const id of ["a", "b", "c"]) p.setHealthy(id, false);
    // 1 of 4 healthy is exactly the 0.25 threshold: not yet panic.
    const calm = expectPick(p.pick(undefined, 0));
    expect([calm.member.id, calm.panic]).toEqual(["d", false]);
    calm.release();
    p.setHealthy("d", false);
    p.setReady("c", false);
    const panicked = expectPick(p.pick(undefined, 0));
    expect(panicked.panic).toBe(true);
    panicked.release();
    expect(Object.keys(countPicks(p, 300)).sort()).toEqual(["a", "b", "d"]);
  });

  it("ignores ejections in panic too, and never panics when the threshold is 0", () => {
    const ejecting = { outlier: { maxEjectionPercent: 100 } };
    const p = pool(ejecting);
    p.add(member("a"));
    for (let i = 0; i < 5; i++) p.report("a", "5xx", 0);
    expect(p.isEjected("a", 0)).toBe(true);
    expect(expectPick(p.pick(undefined, 0)).panic).toBe(true);
    const calm = pool({ ...ejecting, panicThreshold: 0 });
    calm.add(member("a"));
    calm.setHealthy("a", false);
    expect(calm.pick(undefined, 0)).toEqual({ kind: "fail", reason: "no-available-members" });
  });

  it("weighs health by member weight", () => {
    const p = pool();
    p.add(member("big", "edge-1", "eu", 10));
    p.add(member("small", "edge-1", "eu", 1));
    p.setHealthy("big", false);
    // 1/11 healthy < 0.25: panic, and the big member takes its share again.
    const seen = countPicks(p, 110);
    expect(seen.big).toBeGreaterThan(80);
  });
});

describe("Pool: outlier detection", () => {
  it("skips an ejected member until its time is up", () => {
    const p = pool();
    p.add(member("a"));
    p.add(member("b"));
    for (let i = 0; i < 4; i++) expect(p.report("a", "timeout", 1_000)).toBe(false);
    expect(p.report("a", "timeout", 1_000)).toBe(true);
    expect(countPicks(p, 10, { now: 1_000 })).toEqual({ b: 10 });
    expect(p.ejections(5_000)).toEqual([{ id: "a", until: 11_000, times: 1 }]);
    expect(countPicks(p, 10, { now: 10_999 })).toEqual({ b: 10 });
    expect(countPicks(p, 10, { now: 11_000 }).a).toBeGreaterThan(0);
    expect(p.ejections(11_000)).toEqual([]);
  });
});
