import { ErrorCode } from "@onramp/errors";
import { describe, expect, it, vi } from "vitest";
import { DEFAULT_POLICY_LIMITS, resolvePolicyLimits } from "./policy-limits.js";
import { errorsOf, policyOf } from "./test-fixtures.js";

vi.mock("@bufbuild/cel", async (importOriginal) => {
  const original = await importOriginal<typeof import("@bufbuild/cel")>();
  return { ...original, parse: vi.fn(original.parse) };
});

const { parse } = await import("@bufbuild/cel");

/** `n` rules, each with one expression and `actions` add-headers actions. */
function rules(n: number, actions = 1): string {
  const action = "      - {type: add-headers, config: {headers: {x-a: b}}}\n";
  let text = "on_http_request:\n";
  for (let i = 0; i < n; i++) text += `  - name: rule ${i}\n    expressions: ["req.url.path == '/${i}'"]\n    actions:\n${action.repeat(actions)}`;
  return text;
}

describe("size limits", () => {
  it("refuses a policy over 256 KiB up front, compiling none of it", () => {
    vi.mocked(parse).mockClear();
    // The incident's policy was 2.9 MB; compiling it took 320 MB.
    const huge = rules(21_000);
    expect(huge.length).toBeGreaterThan(2_850_000);
    expect(errorsOf(huge)).toBe(`policy.yml:1:1: the policy is ${huge.length.toLocaleString("en-US")} bytes; at most 256 KiB is allowed (limit maxBytes)`);
    expect(parse).not.toHaveBeenCalled();
  });

  it("counts bytes, not characters", () => {
    const policy = (chars: number) => `# ${"é".repeat(chars)}\non_http_request: []\n`;
    expect(policyOf(policy(130_000)).ruleCounts.on_http_request).toBe(0); // 260,023 bytes
    expect(errorsOf(policy(132_000))).toContain("the policy is 264,023 bytes"); // in 132,023 characters
  });

  it("refuses more rules than maxRules, pointing at the first one over", () => {
    const text = errorsOf(rules(501));
    expect(text).toMatch(/^policy\.yml:\d+:\d+: on_http_request\[500\] "rule 500": the policy has more than 500 rules \(limit maxRules\)$/);
    expect(policyOf(rules(500)).ruleCounts.on_http_request).toBe(500);
  });

  it("refuses more actions than maxActions, pointing at the first one over", () => {
    expect(errorsOf(rules(101, 10))).toMatch(/^policy\.yml:\d+:\d+: on_http_request\[100\] "rule 100": actions\[0\]: the policy has more than 1000 actions \(limit maxActions\)$/);
    expect(errorsOf(rules(3, 5), { limits: { maxActions: 12 } })).toContain('on_http_request[2] "rule 2": actions[2]: the policy has more than 12 actions');
  });

  it("refuses more CEL expressions than maxExpressions, once, counting each ${}", () => {
    const template = "      - {type: add-headers, config: {headers: {x-a: '${req.method}', x-b: '${req.host}'}}}\n";
    const text = `on_http_request:\n${`  - expressions: ["true"]\n    actions:\n${template}`.repeat(400)}`;
    const errors = errorsOf(text).split("\n");
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/on_http_request\[333\]: actions\[0\]\.config\.headers\.x-a: the policy has more than 1000 CEL expressions \(limit maxExpressions\)/);
  });

  it("takes other limits from the options, and refuses bad ones naming them", () => {
    expect(errorsOf(rules(3), { limits: { maxRules: 2 } })).toContain("more than 2 rules");
    expect(() => resolvePolicyLimits({ maxRules: 0 })).toThrow(expect.objectContaining({ code: ErrorCode.InvalidArgument, message: "policy limits: maxRules must be an integer ≥ 1, got 0" }));
    expect(() => resolvePolicyLimits({ celBudget: 1.5 })).toThrow(/celBudget must be an integer/);
    expect(resolvePolicyLimits({})).toEqual(DEFAULT_POLICY_LIMITS);
  });
});

describe("regular expression limits", () => {
  const withPattern = (pattern: string, times = 1) =>
    `on_http_request:\n${`  - expressions: [${JSON.stringify(`req.url.path.matches(${JSON.stringify(pattern)})`)}]\n    actions: [{type: deny}]\n`.repeat(times)}`;

  it("refuses a pattern longer than 4,096 characters", () => {
    expect(errorsOf(withPattern("a".repeat(5000)))).toContain("expressions[0]: the regular expression is 5000 characters long; at most 4096 are allowed");
    expect(errorsOf(`on_http_request:\n  - actions: [{type: url-rewrite, config: {from: "${"a".repeat(5000)}", to: "/"}}]\n`)).toContain(
      "actions[0].config.from: the regular expression is 5000 characters long",
    );
  });

  it("refuses patterns whose programs add up to more than maxRegexSize, counting each distinct one once", () => {
    // 11 characters × a repeat of 1,000: ~11,000 instructions each.
    const many = Array.from({ length: 5 }, (_, i) => `req.url.path.matches('[a-z]{1000}${i}')`).join(" || ");
    expect(errorsOf(`on_http_request:\n  - expressions: [${JSON.stringify(many)}]\n    actions: [{type: deny}]\n`)).toContain(
      "the policy's regular expressions are too big: their lengths times their repeat counts add up to more than 50,000 (limit maxRegexSize)",
    );
    expect(policyOf(withPattern("[a-z]{1000}", 20)).ruleCounts.on_http_request).toBe(20);
  });
});
