import { describe, expect, it } from "vitest";
import { parseDuration, parsePoolWeight, parseSize } from "./units.js";

describe("units", () => {
  it.each([
    ["1048576", 1048576],
    ["512KiB", 524288],
    ["100MB", 100_000_000],
    ["1GiB", 1073741824],
    ["2k", 2000],
  ])("parses size %s", (text, bytes) => expect(parseSize("--max", text)).toBe(bytes));

  it.each([
    ["500ms", 500],
    ["30s", 30_000],
    ["5m", 300_000],
    ["250", 250],
  ])("parses duration %s", (text, ms) => expect(parseDuration("--t", text)).toBe(ms));

  it("names the flag and the expected form on bad input", () => {
    expect(() => parseSize("--max-request-body", "lots")).toThrow(/--max-request-body: "lots" is not a size/);
    expect(() => parseDuration("--upstream-timeout", "soon")).toThrow(/--upstream-timeout: "soon" is not a duration/);
  });

  it("takes pool weights of 1 to 1000 and names the flag otherwise", () => {
    expect(parsePoolWeight("3", "--pool-weight")).toBe(3);
    expect(parsePoolWeight(1000, "pool_weight")).toBe(1000);
    for (const bad of ["0", "1001", "1.5", "-2", "two", ""]) expect(() => parsePoolWeight(bad, "--pool-weight")).toThrow(/--pool-weight: must be an integer from 1 to 1000/);
  });
});
