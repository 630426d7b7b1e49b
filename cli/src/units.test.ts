import { describe, expect, it } from "vitest";
import { formatDuration, parseDuration, parsePoolWeight, parseSize } from "./units.js";

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
    ["1.5s", 1500],
    ["2h", 7_200_000],
    ["180d", 15_552_000_000],
    ["0", 0],
    ["0s", 0],
  ])("parses duration %s", (text, ms) => expect(parseDuration("--t", text)).toBe(ms));

  it("refuses a bare number with a hint, except 0; a YAML number too, naming the key", () => {
    expect(() => parseDuration("--upstream-timeout", "5")).toThrow('--upstream-timeout: "5" needs a unit, e.g. 5s or 300ms');
    expect(() => parseDuration("--drain-timeout", "250")).toThrow('--drain-timeout: "250" needs a unit, e.g. 250s or 300ms');
    expect(() => parseDuration("drain_timeout", 5)).toThrow("drain_timeout: 5 needs a unit, e.g. 5s or 300ms");
    expect(parseDuration("drain_timeout", 0)).toBe(0);
    expect(() => parseDuration("mesh_heartbeat", -1)).toThrow("mesh_heartbeat: -1 is not a duration like 500ms, 30s, 5m or 1h");
  });

  it.each([
    [0, "0 ms"],
    [250, "250 ms"],
    [1000, "1 s"],
    [1530, "1.5 s"],
    [6000, "6 s"],
    [12_400, "12 s"],
    [60_000, "1 min"],
    [125_000, "2 min 5 s"],
  ])("formats %d ms as %s", (ms, text) => expect(formatDuration(ms)).toBe(text));

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
