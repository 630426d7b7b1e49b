import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { loadPolicy } from "./load-policy.js";
import { formatPolicyErrors } from "./policy-error.js";

/** The YAML examples of docs/traffic-policy.md, which must keep loading under the policy limits. */
const doc = readFileSync(new URL("../../../docs/traffic-policy.md", import.meta.url), "utf8");
const examples = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] ?? "");

/** A whole policy, or the policies a snippet (a rule list, an action list) can be part of. */
function candidates(snippet: string): string[] {
  const indented = (text: string, by: string) => text.replace(/^(?=.)/gm, by);
  if (/^- (type|name|expressions):/m.test(snippet) && !/^on_/m.test(snippet)) {
    const rules = snippet.startsWith("- type:") ? `- actions:\n${indented(snippet, "    ")}` : snippet;
    return ["on_http_request", "on_http_response", "on_tcp_connect"].map((phase) => `${phase}:\n${indented(rules, "  ")}`);
  }
  return [snippet];
}

describe("the examples in docs/traffic-policy.md", () => {
  it("are there", () => {
    expect(examples.length).toBeGreaterThan(10);
  });

  it.each(examples.map((e, i) => [i, e] as const))("example %i loads", (_i, example) => {
    const results = candidates(example).map((text) => loadPolicy(text));
    const errors = results.flatMap((r) => (r.ok ? [] : [formatPolicyErrors(r.errors)]));
    expect(results.some((r) => r.ok), errors.join("\n---\n")).toBe(true);
  });
});
