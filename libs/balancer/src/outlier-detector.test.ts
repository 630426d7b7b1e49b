import { describe, expect, it } from "vitest";
import { OutlierDetector, type OutlierOptions, type RequestResult } from "./index.js";

const BASE = 10_000;

function detector(ids: readonly string[], options: OutlierOptions = {}): OutlierDetector {
  const d = new OutlierDetector(options);
  for (const id of ids) d.add(id);
  return d;
}

/** Reports `n` failures of the member at `now`; returns whether the last one ejected it. */
function fail(d: OutlierDetector, id: string, now: number, n = 5, result: RequestResult = "5xx"): boolean {
  let ejected = false;
  for (let i = 0; i < n; i++) ejected = d.report(id, result, now);
  return ejected;
}

/** Ejects the member at `now` and returns how long the ejection lasts. */
function ejectionLength(d: OutlierDetector, id: string, now: number): number {
  expect(fail(d, id, now)).toBe(true);
  const until = d.ejectedUntil(id, now);
  if (until === undefined) throw new Error("expected an ejection");
  return until - now;
}

describe("OutlierDetector", () => {
  it("ejects a member after 5 consecutive failures of any kind", () => {
    const d = detector(["a", "b"]);
    expect(d.report("a", "5xx", 0)).toBe(false);
    expect(d.report("a", "reset", 0)).toBe(false);
    expect(d.report("a", "timeout", 0)).toBe(false);
    expect(d.report("a", "5xx", 0)).toBe(false);
    expect(d.isEjected("a", 0)).toBe(false);
    expect(d.report("a", "reset", 0)).toBe(true);
    expect(d.isEjected("a", 0)).toBe(true);
    expect(d.isEjected("b", 0)).toBe(false);
  });

  it("honours a custom failure count", () => {
    const d = detector(["a", "b"], { consecutiveFailures: 2 });
    expect(d.report("a", "5xx", 0)).toBe(false);
    expect(d.report("a", "5xx", 0)).toBe(true);
  });

  it("starts counting again after a success", () => {
    const d = detector(["a", "b"]);
    fail(d, "a", 0, 4);
    d.report("a", "success", 0);
    expect(fail(d, "a", 0, 4)).toBe(false);
    expect(d.isEjected("a", 0)).toBe(false);
    expect(d.report("a", "timeout", 0)).toBe(true);
  });

  it("re-admits a member when its ejection is over", () => {
    const d = detector(["a", "b"]);
    fail(d, "a", 1_000);
    expect(d.ejectedUntil("a", 1_000)).toBe(1_000 + BASE);
    expect(d.isEjected("a", 1_000 + BASE - 1)).toBe(true);
    expect(d.isEjected("a", 1_000 + BASE)).toBe(false);
    // The count starts afresh on re-admission: four more failures are not enough.
    expect(fail(d, "a", 1_000 + BASE, 4)).toBe(false);
  });

  it("doubles the ejection each time a member is ejected again, up to the maximum", () => {
    const d = detector(["a", "b"]);
    const lengths: number[] = [];
    let now = 0;
    for (let i = 0; i < 7; i++) {
      const length = ejectionLength(d, "a", now);
      lengths.push(length);
      now += length; // fails again the moment it is back
    }
    expect(lengths).toEqual([10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000]);
  });

  it("decays the ejection count for each base interval a member stays admitted", () => {
    const d = detector(["a", "b"]);
    let now = 0;
    for (const expected of [10_000, 20_000, 40_000]) {
      expect(ejectionLength(d, "a", now)).toBe(expected);
      now += expected;
    }
    // Back at `now` with 3 ejections on record; one good interval takes one off.
    expect(ejectionLength(d, "a", now + BASE)).toBe(40_000);
    now += BASE + 40_000;
    // Three good intervals take them all off: back to a short ejection.
    expect(ejectionLength(d, "a", now + 3 * BASE)).toBe(BASE);
    expect(d.ejections(now + 3 * BASE)).toEqual([{ id: "a", until: now + 4 * BASE, times: 1 }]);
  });

  it("recovers from the maximum ejection in a bounded number of intervals", () => {
    const d = detector(["a", "b"]);
    let now = 0;
    for (let i = 0; i < 20; i++) now += ejectionLength(d, "a", now);
    // Twenty ejections, but only the six that reach 5 min count: six intervals clear them.
    expect(ejectionLength(d, "a", now + 6 * BASE)).toBe(BASE);
  });

  it("never ejects more than maxEjectionPercent of the members", () => {
    const ids = Array.from({ length: 10 }, (_, i) => `m${i}`);
    const d = detector(ids);
    for (const id of ids.slice(0, 5)) expect(fail(d, id, 0)).toBe(true);
    expect(fail(d, "m5", 0)).toBe(false);
    expect(d.ejections(0).map((e) => e.id)).toEqual(["m0", "m1", "m2", "m3", "m4"]);
    // The held-back member keeps its count: its next failure after a slot frees up ejects it.
    expect(d.report("m5", "5xx", BASE)).toBe(true);
    expect(d.isEjected("m5", BASE)).toBe(true);
  });

  it("may always eject one member of a pool of two or three", () => {
    const pair = detector(["a", "b"]);
    expect(fail(pair, "a", 0)).toBe(true);
    expect(fail(pair, "b", 0)).toBe(false);
    const trio = detector(["a", "b", "c"], { maxEjectionPercent: 10 });
    expect(fail(trio, "a", 0)).toBe(true);
    expect(fail(trio, "b", 0)).toBe(false);
  });

  it("ejects the only member of a pool only when maxEjectionPercent allows all", () => {
    expect(fail(detector(["a"]), "a", 0)).toBe(false);
    expect(fail(detector(["a"], { maxEjectionPercent: 100 }), "a", 0)).toBe(true);
  });

  it("ignores reports while a member is ejected and for members it does not track", () => {
    const d = detector(["a", "b"]);
    fail(d, "a", 0);
    expect(fail(d, "a", 5_000, 20)).toBe(false);
    expect(d.ejectedUntil("a", 5_000)).toBe(BASE);
    expect(d.report("nobody", "5xx", 0)).toBe(false);
    expect(d.isEjected("nobody", 0)).toBe(false);
  });

  it("forgets a removed member, freeing its ejection slot", () => {
    const d = detector(["a", "b", "c"], { maxEjectionPercent: 10 });
    fail(d, "a", 0);
    expect(d.remove("a")).toBe(true);
    expect(d.ejections(0)).toEqual([]);
    expect(fail(d, "b", 0)).toBe(true);
  });
});
