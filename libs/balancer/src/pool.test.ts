import { describe, expect, it } from "vitest";
import { Pool, type MemberInfo } from "./index.js";

const member = (id: string, region = "us"): MemberInfo => ({ id, region });

function counts(pool: Pool<MemberInfo>, n: number, hold = false): Record<string, number> {
  const seen: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const result = pool.pick();
    if (result.kind !== "pick") throw new Error(result.reason);
    seen[result.member.id] = (seen[result.member.id] ?? 0) + 1;
    if (!hold) result.release();
  }
  return seen;
}

describe("Pool", () => {
  it("fails with a reason instead of returning nothing", () => {
    const pool = new Pool<MemberInfo>();
    expect(pool.pick()).toEqual({ kind: "fail", reason: "no-members" });
    pool.add(member("a"));
    pool.setHealthy("a", false);
    expect(pool.pick()).toEqual({ kind: "fail", reason: "no-healthy-members" });
  });

  it("alternates between idle members, spreading sequential traffic evenly", () => {
    const pool = new Pool<MemberInfo>();
    pool.add(member("a"));
    pool.add(member("b"));
    expect(counts(pool, 100)).toEqual({ a: 50, b: 50 });
  });

  it("prefers the member with fewer outstanding requests", () => {
    const pool = new Pool<MemberInfo>();
    pool.add(member("a"));
    pool.add(member("b"));
    const busy = pool.pick();
    expect(busy.kind).toBe("pick");
    const other = busy.kind === "pick" && busy.member.id === "a" ? "b" : "a";
    expect(counts(pool, 1, true)).toEqual({ [other]: 1 });
  });

  it("spreads concurrent load across many members", () => {
    let seed = 1;
    const random = () => ((seed = (seed * 16807) % 2147483647) - 1) / 2147483646;
    const pool = new Pool<MemberInfo>({ random });
    for (const id of ["a", "b", "c", "d"]) pool.add(member(id));
    const seen = counts(pool, 400, true);
    for (const id of ["a", "b", "c", "d"]) expect(seen[id]).toBeGreaterThanOrEqual(90);
  });

  it("sends everything to the remaining member when one leaves", () => {
    const pool = new Pool<MemberInfo>();
    pool.add(member("a"));
    pool.add(member("b"));
    pool.remove("a");
    expect(counts(pool, 10)).toEqual({ b: 10 });
  });

  it("prefers local-region members and spills over when none is healthy", () => {
    const pool = new Pool<MemberInfo>({ localRegion: "eu" });
    pool.add(member("us-1", "us"));
    pool.add(member("eu-1", "eu"));
    expect(counts(pool, 5)).toEqual({ "eu-1": 5 });
    pool.setHealthy("eu-1", false);
    expect(counts(pool, 5)).toEqual({ "us-1": 5 });
  });

  it("skips excluded members (retries go elsewhere)", () => {
    const pool = new Pool<MemberInfo>();
    pool.add(member("a"));
    pool.add(member("b"));
    const result = pool.pick(new Set(["a"]));
    expect(result.kind === "pick" && result.member.id).toBe("b");
  });

  it("counts a release only once", () => {
    const pool = new Pool<MemberInfo>();
    pool.add(member("a"));
    const result = pool.pick();
    if (result.kind !== "pick") throw new Error("expected a pick");
    result.release();
    result.release();
    expect(pool.outstanding("a")).toBe(0);
  });
});
