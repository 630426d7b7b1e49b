import type { Expr } from "./cel-ast.js";

/**
 * A fast path for the most common expressions of all, plain variable paths: `${req.url.path}`,
 * `${vars.tier}`, `${conn.client_ip}` (which the checker has made `conn.client_ip.$str`),
 * `req.headers['x-api-key'][0]`. Through @bufbuild/cel, reading one costs an activation, a
 * lookup of every dotted prefix as a type name, and a map wrapper at every step; read directly,
 * it costs the map lookups themselves.
 *
 * The direct read answers only when every step lands on a JavaScript Map (a key) or array (an
 * index in range) and the value at the end is a string, number, int or bool: there CEL's answer is
 * that same value. Anything else (a missing key, an index out of range, a list or map result, a
 * CEL value such as a uint) makes it answer `undefined`, and the expression is evaluated by CEL,
 * errors and all. cel-path-read.test.ts checks both give the same results.
 */

/** A root variable and the keys (`.name`, `['name']`) or indexes (`[0]`) read from it in turn. */
export interface VariablePath {
  readonly root: string;
  readonly steps: ReadonlyArray<string | bigint>;
}

/** The path `e` reads, or undefined when `e` is anything but a variable followed by selects and constant indexes. */
export function variablePathOf(e: Expr): VariablePath | undefined {
  const steps: Array<string | bigint> = [];
  let cur: Expr | undefined = e;
  while (cur !== undefined) {
    const k: Expr["exprKind"] = cur.exprKind;
    switch (k.case) {
      case "identExpr":
        return { root: k.value.name, steps: steps.reverse() };
      case "selectExpr":
        if (k.value.testOnly) return undefined;
        steps.push(k.value.field);
        cur = k.value.operand;
        break;
      case "callExpr": {
        const [operand, index] = k.value.args;
        if (k.value.function !== "_[_]" || k.value.target !== undefined || k.value.args.length !== 2 || index?.exprKind.case !== "constExpr") return undefined;
        const constant = index.exprKind.value.constantKind;
        if (constant.case !== "stringValue" && constant.case !== "int64Value") return undefined;
        steps.push(constant.value);
        cur = operand;
        break;
      }
      default:
        return undefined;
    }
  }
  return undefined;
}

/** The value at `path` in `bindings` when it can be read without CEL (see above), else undefined. */
export function readVariablePath(path: VariablePath, bindings: Record<string, unknown>): string | number | bigint | boolean | undefined {
  let v: unknown = bindings[path.root];
  for (const step of path.steps) {
    if (v instanceof Map) {
      if (typeof step !== "string") return undefined;
      v = v.get(step);
    } else if (Array.isArray(v)) {
      if (typeof step !== "bigint" || step < 0n || step >= BigInt(v.length)) return undefined;
      v = v[Number(step)];
    } else return undefined;
  }
  switch (typeof v) {
    case "string":
    case "number":
    case "bigint":
    case "boolean":
      return v;
    default:
      return undefined;
  }
}
