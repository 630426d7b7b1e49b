import { describe, expect, it } from "vitest";
import { flatten, toMap } from "./policy-request-state.js";

describe("request headers as a policy sees them, and back", () => {
  it("groups repeated names (case-insensitively, in order) and flattens them back in the same order", () => {
    const flat = ["Host", "a.example", "Set-Cookie", "a=1", "x-tier", "gold", "set-cookie", "b=2", "Accept", ""];
    const map = toMap(flat);
    expect([...map.entries()]).toEqual([
      ["host", ["a.example"]],
      ["set-cookie", ["a=1", "b=2"]],
      ["x-tier", ["gold"]],
      ["accept", [""]],
    ]);
    expect(flatten(map)).toEqual(["host", "a.example", "set-cookie", "a=1", "set-cookie", "b=2", "x-tier", "gold", "accept", ""]);
  });

  it("flattens an empty map, and a name whose values a policy removed, to nothing", () => {
    expect(flatten(new Map())).toEqual([]);
    expect(flatten(new Map([["x-gone", []], ["x-kept", ["1"]]]))).toEqual(["x-kept", "1"]);
  });
});
