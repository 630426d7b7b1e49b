import type { parse } from "@bufbuild/cel";

/** Helpers over the CEL syntax tree that `@bufbuild/cel`'s `parse` returns. */

export type ParsedExpr = ReturnType<typeof parse>;
export type Expr = ParsedExpr["expr"] & {};

/** The direct subexpressions of `e`. */
export function childrenOf(e: Expr): Expr[] {
  const k = e.exprKind;
  const out: Array<Expr | undefined> = [];
  switch (k.case) {
    case "selectExpr":
      out.push(k.value.operand);
      break;
    case "callExpr":
      out.push(k.value.target, ...k.value.args);
      break;
    case "listExpr":
      out.push(...k.value.elements);
      break;
    case "structExpr":
      for (const entry of k.value.entries) {
        if (entry.keyKind.case === "mapKey") out.push(entry.keyKind.value);
        out.push(entry.value);
      }
      break;
    case "comprehensionExpr":
      out.push(k.value.iterRange, k.value.accuInit, k.value.loopCondition, k.value.loopStep, k.value.result);
      break;
    default:
      break;
  }
  return out.filter((x): x is Expr => x !== undefined);
}

/** The number of nodes in `e`. Iterative: it also measures trees too deep to recurse over. */
export function countNodes(e: Expr): number {
  let n = 0;
  const stack = [e];
  for (let x = stack.pop(); x !== undefined; x = stack.pop()) {
    n++;
    stack.push(...childrenOf(x));
  }
  return n;
}

/** The largest node id in `e`, so rewrites can give new nodes ids of their own. */
export function maxId(e: Expr): bigint {
  let max = 0n;
  const stack = [e];
  for (let x = stack.pop(); x !== undefined; x = stack.pop()) {
    if (x.id > max) max = x.id;
    stack.push(...childrenOf(x));
  }
  return max;
}

/**
 * A text that two subexpressions share exactly when they are the same tree (ids aside), to
 * recognise the same range written twice. `unparse` cannot do this: it refuses comprehensions.
 */
export function shapeOf(e: Expr): string {
  const k = e.exprKind;
  const all = (xs: Expr[]): string => xs.map(shapeOf).join(",");
  switch (k.case) {
    case "constExpr":
      return `${k.value.constantKind.case}:${JSON.stringify(String(k.value.constantKind.value))}`;
    case "identExpr":
      return `id:${k.value.name}`;
    case "selectExpr":
      return `sel(${k.value.operand ? shapeOf(k.value.operand) : ""}).${k.value.field}${k.value.testOnly ? "?" : ""}`;
    case "comprehensionExpr": {
      const c = k.value;
      return `loop:${c.iterVar},${c.iterVar2},${c.accuVar}(${all(childrenOf(e))})`;
    }
    case "structExpr":
      return `struct:${k.value.messageName}(${k.value.entries.map((x) => (x.keyKind.case === "fieldKey" ? x.keyKind.value : x.keyKind.case === "mapKey" ? shapeOf(x.keyKind.value) : "") + "=" + (x.value ? shapeOf(x.value) : "")).join(",")})`;
    case "callExpr":
      return `call:${k.value.function}(${k.value.target ? `${shapeOf(k.value.target)};` : ""}${all(k.value.args)})`;
    default:
      return `${k.case ?? "none"}(${all(childrenOf(e))})`;
  }
}

/** A problem with an expression found while it compiles, at an offset into its text. */
export interface CelProblem {
  /** Offset into the expression text. */
  readonly offset: number;
  readonly message: string;
}
