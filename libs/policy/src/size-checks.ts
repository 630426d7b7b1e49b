import { type Node, type YAMLMap, isMap, isScalar, isSeq } from "yaml";
import type { Cursor, PolicyPhase } from "./policy-error.js";
import { type PolicyLimits, formatBytes, utf8LengthUpTo } from "./policy-limits.js";

/**
 * The size limits of a policy, checked before any of it is compiled, so an oversized policy costs
 * a parse and a count, not the memory and CPU of compiling it. (Expressions are counted as they
 * compile, in cel-compile.ts, since fields of many kinds hold them.)
 */

/** An error message when `source` is over `limits.maxBytes`, else undefined. */
export function textSizeProblem(source: string, limits: PolicyLimits): string | undefined {
  if (utf8LengthUpTo(source, limits.maxBytes) <= limits.maxBytes) return undefined;
  const bytes = utf8LengthUpTo(source, Number.POSITIVE_INFINITY);
  return `the policy is ${bytes.toLocaleString("en-US")} bytes; at most ${formatBytes(limits.maxBytes)} is allowed (limit maxBytes)`;
}

/**
 * Reports the first rule past `limits.maxRules` and the first action past `limits.maxActions`
 * (counted over all phases, in document order). Returns false when either is over.
 */
export function checkCounts(root: Cursor, contents: Node | null, phases: readonly PolicyPhase[], limits: PolicyLimits): boolean {
  let rules = 0;
  let actions = 0;
  let ok = true;
  for (const pair of isMap(contents) ? (contents as YAMLMap<Node, Node | null>).items : []) {
    const phase = isScalar(pair.key) ? String(pair.key.value) : "";
    if (!(phases as readonly string[]).includes(phase) || !isSeq(pair.value)) continue;
    for (const [index, rule] of (pair.value.items as Array<Node | null>).entries()) {
      const name = isMap(rule) ? rule.get("name") : undefined;
      const cursor = (): Cursor => root.enterRule({ phase: phase as PolicyPhase, index, name: typeof name === "string" ? name : undefined }, rule);
      if (++rules === limits.maxRules + 1) {
        cursor().error(`the policy has more than ${limits.maxRules} rules (limit maxRules)`);
        ok = false;
      }
      const list = isMap(rule) ? rule.get("actions", true) : undefined;
      const items = isSeq(list) ? (list.items as Array<Node | null>) : [];
      if (actions <= limits.maxActions && actions + items.length > limits.maxActions) {
        const first = limits.maxActions - actions;
        cursor()
          .key("actions", list as Node)
          .index(first, items[first])
          .error(`the policy has more than ${limits.maxActions} actions (limit maxActions)`);
        ok = false;
      }
      actions += items.length;
    }
  }
  return ok;
}
