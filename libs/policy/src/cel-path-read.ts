import { type Expr, childrenOf } from "./cel-ast.js";

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
  const steps = path.steps;
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i];
    if (v instanceof Map) {
      if (typeof step !== "string") return undefined;
      v = v.get(step);
    } else if (Array.isArray(v)) {
      if (typeof step !== "bigint" || step < 0n || Number(step) >= v.length) return undefined;
      v = v[Number(step)];
    } else return undefined;
  }
  return plainValue(v);
}

/** `v` when it is a plain value (string, number, int, bool) the fast paths return as CEL would, else undefined. */
export function plainValue(v: unknown): string | number | bigint | boolean | undefined {
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

/**
 * The dotted names CEL looks up first when it reads a variable path inside a larger expression:
 * for `req.url.path.startsWith('/a')`, @bufbuild/cel asks the variables for `req.url.path`, then
 * for `req.url`, each time also asking its registry whether that is a type, before it reads `req`
 * (a name may be qualified, `a.b.c`). Bindings that answer the first name with the value at the
 * path (request-view.ts) skip the misses. Only paths from `roots` count, and none whose root a
 * comprehension in `e` rebinds (`[x].all(req, req.url …)` reads its own `req`).
 */
export function qualifiedPathsOf(e: Expr, roots: ReadonlySet<string>, out: Map<string, VariablePath>): void {
  const rebound = new Set<string>();
  const walk = (node: Expr, visit: (node: Expr) => boolean): void => {
    if (!visit(node)) return;
    for (const child of childrenOf(node)) walk(child, visit);
  };
  walk(e, (node) => {
    const k = node.exprKind;
    if (k.case === "comprehensionExpr") for (const name of [k.value.iterVar, k.value.iterVar2, k.value.accuVar]) if (name) rebound.add(name);
    return true;
  });
  walk(e, (node) => {
    const path = node.exprKind.case === "identExpr" ? undefined : variablePathOf(node);
    if (path === undefined) return true;
    // With an index (`[0]`) CEL's first name stops before it, at a list: nothing to answer there.
    if (path.steps.every((s) => typeof s === "string") && roots.has(path.root) && !rebound.has(path.root)) {
      out.set([path.root, ...path.steps].join("."), path);
    }
    return false;
  });
}
