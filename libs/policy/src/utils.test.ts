import { describe, expect, it } from "vitest";
import { negotiateEncoding } from "./accept-encoding.js";
import { formatDuration, parseDuration } from "./duration.js";

describe("durations", () => {
  it.each([
    ["1s", 1000], ["30s", 30_000], ["1m", 60_000], ["1h", 3_600_000], ["1h30m", 5_400_000], ["1.5s", 1500], ["250ms", 250],
  ] as const)("%s = %d ms", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });
  it("rejects numbers without units and unknown units", () => {
    for (const bad of ["60", "", "1d", "1 m", "m", "-1s"]) expect(parseDuration(bad), bad).toBeUndefined();
  });
  it("formats", () => {
    expect([formatDuration(1000), formatDuration(90_000), formatDuration(7_200_000), formatDuration(1500)]).toEqual(["1s", "90s", "2h", "1500ms"]);
  });
});

describe("Accept-Encoding negotiation", () => {
  const prefs = ["gzip", "deflate", "br"] as const;
  it.each([
    ["gzip, deflate, br", "gzip"],
    ["br;q=1, gzip;q=0.8", "br"],
    ["gzip;q=0, deflate", "deflate"],
    ["*", "gzip"],
    ["*;q=0.5, br", "br"],
    ["identity", undefined],
    ["gzip;q=0, *;q=0", undefined],
    ["x-gzip", "gzip"],
    ["BR", "br"],
  ] as const)("%s → %s", (header, expected) => {
    expect(negotiateEncoding([header], prefs)).toBe(expected);
  });
  it("breaks ties by the policy's order", () => {
    expect(negotiateEncoding(["gzip, br"], ["br", "gzip"])).toBe("br");
    expect(negotiateEncoding([], prefs)).toBeUndefined();
  });
});
