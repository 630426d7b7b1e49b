import { describe, expect, it } from "vitest";
import { Backoff } from "./backoff.js";

describe("Backoff", () => {
  it("doubles the ceiling per attempt up to the max, jittered below it", () => {
    const ceilings = new Backoff(100, 1000, () => 1);
    expect([1, 2, 3, 4, 5, 6].map(() => ceilings.next())).toEqual([100, 200, 400, 800, 1000, 1000]);
    const floor = new Backoff(100, 1000, () => 0);
    expect(floor.next()).toBe(0);
  });

  it("starts over after a success", () => {
    const b = new Backoff(100, 1000, () => 1);
    b.next();
    b.next();
    b.reset();
    expect(b.next()).toBe(100);
  });
});
