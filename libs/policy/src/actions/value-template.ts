import { type Node, isMap, isScalar, isSeq } from "yaml";
import type { EvalScope } from "../cel-compile.js";
import { type CompileContext, readTemplate } from "../config-reader.js";
import type { Cursor } from "../policy-error.js";

/** A free-form YAML value whose strings are `${…}` templates (set-vars values, log metadata). */
export type ValueTemplate = (scope: EvalScope) => unknown;

/**
 * Compiles any YAML value: strings become templates (a lone `${expr}` keeps its CEL type), numbers
 * become CEL ints or doubles, lists and maps recurse.
 */
export function compileValue(cx: CompileContext, cursor: Cursor, node: Node | null | undefined): ValueTemplate | undefined {
  if (node === null || node === undefined) return () => null;
  if (isScalar(node)) {
    const v = node.value;
    if (typeof v === "string") {
      const t = readTemplate(cx, cursor, node);
      return t && ((scope) => t.value(scope));
    }
    if (typeof v === "number") {
      const cel = Number.isInteger(v) ? BigInt(v) : v;
      return () => cel;
    }
    if (typeof v === "boolean" || v === null) return () => v;
    cursor.error("must be a string, number, boolean, list or map");
    return undefined;
  }
  if (isSeq(node)) {
    const items = node.items.map((item, i) => compileValue(cx, cursor.index(i, item as Node), item as Node));
    if (items.some((i) => i === undefined)) return undefined;
    return (scope) => items.map((i) => (i as ValueTemplate)(scope));
  }
  if (isMap(node)) {
    const entries: Array<[string, ValueTemplate]> = [];
    let failed = false;
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
      if (key === undefined) {
        cursor.error("map keys must be strings");
        failed = true;
        continue;
      }
      const value = compileValue(cx, cursor.key(key, pair.value as Node, pair.key as Node), pair.value as Node);
      if (value) entries.push([key, value]);
      else failed = true;
    }
    if (failed) return undefined;
    return (scope) => new Map(entries.map(([k, v]) => [k, v(scope)]));
  }
  cursor.error("unsupported value");
  return undefined;
}
