import { describe, expect, it } from "vitest";
import { chooseTier, tierHealth, tierLoads } from "./tier-load.js";

const close = (values: number[]) => values.map((v) => expect.closeTo(v, 9));

describe("tierHealth", () => {
  it("inflates the usable share by the overprovisioning factor, capped at 1", () => {
    expect(tierHealth(5, 5, 1.4)).toBe(1);
    expect(tierHealth(4, 5, 1.4)).toBe(1);
    expect(tierHealth(2, 5, 1.4)).toBeCloseTo(0.56, 9);
    expect(tierHealth(2, 5, 1)).toBeCloseTo(0.4, 9);
    expect(tierHealth(0, 5, 1.4)).toBe(0);
  });

  it("gives an empty tier no health", () => {
    expect(tierHealth(0, 0, 1.4)).toBe(0);
  });
});

describe("tierLoads (Envoy's priority load)", () => {
  it("keeps everything in the first healthy tier", () => {
    expect(tierLoads([1, 1, 1])).toEqual([1, 0, 0]);
    expect(tierLoads([0, 1, 1])).toEqual([0, 1, 0]);
  });

  it("spills what a degraded tier cannot take to the next", () => {
    expect(tierLoads([0.56, 1, 1])).toEqual(close([0.56, 0.44, 0]));
    expect(tierLoads([0.56, 0.28, 1])).toEqual(close([0.56, 0.28, 0.16]));
  });

  it("scales up healths that add up to less than 1, so all traffic still goes somewhere", () => {
    expect(tierLoads([0.28, 0, 0.28])).toEqual(close([0.5, 0, 0.5]));
    expect(tierLoads([0, 0.3, 0.2])).toEqual(close([0, 0.6, 0.4]));
  });

  it("sends nothing anywhere when no tier has health", () => {
    expect(tierLoads([0, 0, 0])).toEqual([0, 0, 0]);
  });
});

describe("chooseTier", () => {
  it("maps a uniform draw onto the loads", () => {
    const loads = [0.5, 0.3, 0.2];
    expect(chooseTier(loads, 0)).toBe(0);
    expect(chooseTier(loads, 0.49)).toBe(0);
    expect(chooseTier(loads, 0.5)).toBe(1);
    expect(chooseTier(loads, 0.79)).toBe(1);
    expect(chooseTier(loads, 0.99)).toBe(2);
  });

  it("never chooses a tier without load, even for a draw in the rounding gap", () => {
    expect(chooseTier([0, 0.9999999, 0], 0.99999999)).toBe(1);
    expect(chooseTier([0, 0, 0], 0.5)).toBe(-1);
  });
});
