import { celList, celMap, isCelList, isCelMap } from "@bufbuild/cel";
import { describe, expect, it } from "vitest";
import { isJson, jsonDecode, jsonEncode } from "./json.js";
import { MAX_STRING_LENGTH, MAX_VISITED } from "./limits.js";

describe("json.decode", () => {
  it("decodes objects to maps, arrays to lists, numbers to doubles", () => {
    const m = jsonDecode('{"a":"b","n":1,"l":[true,null,2.5]}');
    expect(isCelMap(m)).toBe(true);
    if (!isCelMap(m)) return;
    expect(m.get("a")).toBe("b");
    expect(m.get("n")).toBe(1);
    const l = m.get("l");
    expect(isCelList(l) && [...l]).toEqual([true, null, 2.5]);
    expect(jsonDecode('"x"')).toBe("x");
  });

  it("refuses invalid JSON, deep nesting and too many values", () => {
    expect(() => jsonDecode("{a:1}")).toThrow(/json.decode: invalid JSON/);
    expect(() => jsonDecode(`${"[".repeat(65)}${"]".repeat(65)}`)).toThrow(/nested more than 64/);
    expect(jsonDecode(`${"[".repeat(64)}${"]".repeat(64)}`)).toBeDefined();
    expect(jsonDecode('["[[[[[[", "{{{{"]')).toBeDefined(); // brackets in strings do not count
    expect(() => jsonDecode(`[${"0,".repeat(10_000)}0]`)).toThrow(/an array has 10,001 elements, over the limit of 10,000/);
    const chunk = `[${"0,".repeat(4999)}0]`;
    expect(() => jsonDecode(`[${Array.from({ length: MAX_VISITED / 5000 }, () => chunk).join(",")}]`)).toThrow(/visits more than 100,000/);
    expect(() => jsonDecode(`"${"a".repeat(MAX_STRING_LENGTH)}"`)).toThrow(/over the limit/);
  });

  it("isJson", () => {
    expect(isJson('{"a":"b","c":"d"}')).toBe(true);
    expect(isJson("not json")).toBe(false);
    expect(isJson("")).toBe(false);
  });
});

describe("json.encode", () => {
  it("encodes maps with sorted keys and lists, as Go's json.Marshal", () => {
    expect(jsonEncode(celMap(new Map([["c", "d"], ["a", "b"]])))).toBe('{"a":"b","c":"d"}');
    expect(jsonEncode(celList(["a", "b", "c"]))).toBe('["a","b","c"]');
    expect(jsonEncode(celList([1n, 2.5, true, null, new Uint8Array([104, 105]), 9007199254740993n]))).toBe('[1,2.5,true,null,"aGk=",9007199254740993]');
    expect(jsonEncode(celMap(new Map<bigint, string>([[2n, "x"], [1n, "y"]])))).toBe('{"1":"y","2":"x"}');
    expect(jsonEncode('say "hi"\n')).toBe('"say \\"hi\\"\\n"');
  });

  it("round-trips what it decodes", () => {
    const text = '{"a":[1,2,{"b":null}],"c":"\\u00e9"}';
    expect(jsonEncode(jsonDecode(text))).toBe('{"a":[1,2,{"b":null}],"c":"é"}');
  });

  it("refuses NaN, and results over 1 MiB however they are built", () => {
    expect(() => jsonEncode(Number.NaN)).toThrow(/unsupported value NaN/);
    const big = "x".repeat(600_000);
    expect(() => jsonEncode(celList([big, big]))).toThrow(/longer than 1,048,576/);
    const shared = "y".repeat(1000);
    expect(() => jsonEncode(celList(Array.from({ length: 10_000 }, () => shared)))).toThrow(/longer than/);
  });
});
