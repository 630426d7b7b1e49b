import { describe, expect, it } from "vitest";
import { type Regex, compileRegex } from "./regex.js";

function re(pattern: string): Regex {
  const r = compileRegex(pattern);
  if (!r.ok) throw new Error(r.message);
  return r.regex;
}

describe("RE2 with captures", () => {
  const execCases: Array<[string, string, number[] | null]> = [
    ["a(b+)c", "xxabbbcx", [2, 7, 3, 6]],
    ["^(a+)(a*)$", "aaaa", [0, 4, 0, 4, 4, 4]],
    ["(a+?)(a*)", "aaaa", [0, 4, 0, 1, 1, 4]],
    ["(x)?y", "y", [0, 1, -1, -1]],
    ["cat|category", "category", [0, 3]],
    ["\\bfoo\\b", "a foo b", [2, 5]],
    ["^$", "", [0, 0]],
    ["z", "abc", null],
    ["(?i)HELLO", "say hello", [4, 9]],
    ["é(.)", "café!", [3, 5, 4, 5]],
  ];
  it.each(execCases)("exec(%j, %j)", (pattern, input, expected) => {
    expect(re(pattern).exec(input)).toEqual(expected);
  });

  const replaceCases: Array<[string, string, string, string]> = [
    ["v0/user/([0-9]+)", "/v0/user/123", "v1/user?id=$1", "/v1/user?id=123"],
    ["^/old/(.*)$", "/old/a/b?x=1", "/new/$1", "/new/a/b?x=1"],
    ["(?P<id>[0-9]+)", "a1b22", "<${id}>", "a<1>b<22>"],
    ["([a-z])", "ab", "$1$1", "aabb"],
    ["([a-z])", "ab", "$1x", ""], // Go: `$1x` names group "1x", which does not exist
    ["([a-z])", "ab", "${1}x", "axbx"],
    ["a*", "baaac", "-", "-b-c-"],
    ["\\$", "cost: $5", "$$", "cost: $5"],
    ["^http://", "http://example.com/", "https://", "https://example.com/"],
  ];
  it.each(replaceCases)("replaceAll(%j, %j, %j)", (pattern, input, template, expected) => {
    expect(re(pattern).replaceAll(input, template)).toBe(expected);
  });

  it("rejects patterns RE2 does not support", () => {
    for (const p of ["(a", "(?=x)", "(a)\\1", "a{1001}"]) expect(compileRegex(p).ok, p).toBe(false);
  });

  it("stays linear on pathological input", () => {
    const r = re("^(a+)+$");
    const input = `${"a".repeat(5000)}!`;
    expect(r.test(input)).toBe(false);
    expect(r.exec(input)).toBeNull();
    expect(re("(a|aa)+b").replaceAll("a".repeat(3000), "x")).toBe("a".repeat(3000));
  });
});
