import { type Expr, childrenOf, shapeOf } from "./cel-ast.js";
import { REQUEST_MACROS, RESPONSE_MACROS } from "./cel-env.js";

type Comprehension = Extract<Expr["exprKind"], { case: "comprehensionExpr" }>["value"];

export interface BoundsProblem {
  readonly offset: number;
  readonly message: string;
}

/** A comprehension whose range is request data: what its body may loop over again. */
interface DataLoop {
  readonly macro: string;
  /** The iteration variable(s): the current element. */
  readonly element: ReadonlySet<string>;
  /** The range's shapeOf, to recognise `range[element]` (a map's value for the current key). */
  readonly range: string;
}

/**
 * Load-time limits on how much work one expression can do, so a policy that would freeze the edge
 * on a crafted request is rejected before it goes live:
 *
 * - Nesting (checkDepth): at most `maxExpressionDepth` levels; deeper trees overflow the stack
 *   when checked or run.
 * - Loops (checkLoops): a comprehension (`exists`, `all`, `exists_one`, `map`, `filter`) over
 *   request data may not hold, in its predicate or transform, another comprehension over request
 *   data, because that goes over the request once per element: quadratic work, and the 30 s
 *   incident was one such `exists` inside another over a 14 KB header. An inner loop is allowed
 *   when its range is
 *   - a list or map literal (its length is fixed by the text), or
 *   - computed only from the outer loop's own element (`x.split(':')` inside
 *     `….split(',').exists(x, …)`), or from the outer map's value for it (`req.headers[h]` inside
 *     `req.headers.exists(h, …)`): the parts of all elements together are no bigger than the
 *     request, so the work stays linear.
 *
 * "Request data" is kept simple and predictable: any range that reads a variable or calls a
 * request or response macro. A range made only of constants (`'a,b'.split(',')`) is bounded by
 * the text. Whatever passes still runs under the per-request budget (cel-meter.ts).
 */
export function checkDepth(expr: Expr, maxDepth: number, offsetOf: (e: Expr) => number): BoundsProblem | undefined {
  // Iterative, so a tree too deep to recurse over is measured without overflowing the stack.
  const stack: Array<[Expr, number]> = [[expr, 1]];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [e, depth] = top;
    if (depth > maxDepth) {
      return { offset: offsetOf(e), message: `the expression is nested more than ${maxDepth} levels deep (limit maxExpressionDepth); split it up` };
    }
    for (const child of childrenOf(e)) stack.push([child, depth + 1]);
  }
  return undefined;
}

/** The loop rule above; run after checkDepth, as it recurses. */
export function checkLoops(expr: Expr, macroNameOf: (id: bigint) => string | undefined, offsetOf: (e: Expr) => number): BoundsProblem[] {
  const problems: BoundsProblem[] = [];
  const problem = (e: Expr, message: string): void => void problems.push({ offset: offsetOf(e), message });
  const walk = (e: Expr | undefined, outer: DataLoop | undefined): void => {
    if (!e) return;
    if (e.exprKind.case !== "comprehensionExpr") {
      for (const child of childrenOf(e)) walk(child, outer);
      return;
    }
    const c = e.exprKind.value;
    const macro = macroNameOf(e.id) ?? "comprehension";
    for (const part of [c.iterRange, c.accuInit, c.result]) walk(part, outer);
    let body = outer;
    if (c.iterRange && readsRequestData(c.iterRange)) {
      if (outer && !readsOnlyElementOf(c.iterRange, outer)) {
        problem(
          e,
          `${macro}() over request data inside ${outer.macro}() over request data: this goes over the request again for every element, ` +
            "so its work grows with the square of the request's size. An inner loop may only go over a literal list or over parts " +
            "of the outer loop's element (see Limits in docs/traffic-policy.md)",
        );
      }
      body = { macro, element: iterVarsOf(c), range: shapeOf(c.iterRange) };
    }
    walk(c.loopCondition, body);
    walk(c.loopStep, body);
  };
  walk(expr, undefined);
  return problems;
}

function iterVarsOf(c: Comprehension): Set<string> {
  return new Set([c.iterVar, c.iterVar2].filter((v) => v !== ""));
}

/** True when `range` is not a literal and reads a variable or calls a request or response macro. */
function readsRequestData(range: Expr): boolean {
  const k = range.exprKind.case;
  if (k === "listExpr" || k === "structExpr") return false;
  const reads = freeReads(range);
  return reads.macros || reads.names.size > 0;
}

/** True when `range` calls no macro and reads nothing but the element of `outer` (or `outer`'s range at it). */
function readsOnlyElementOf(range: Expr, outer: DataLoop): boolean {
  const isElement = (x: Expr): boolean => {
    const k = x.exprKind;
    if (k.case !== "callExpr" || k.value.function !== "_[_]" || k.value.args.length !== 2) return false;
    const [operand, index] = k.value.args as [Expr, Expr];
    return index.exprKind.case === "identExpr" && outer.element.has(index.exprKind.value.name) && shapeOf(operand) === outer.range;
  };
  const reads = freeReads(range, isElement);
  return !reads.macros && [...reads.names].every((n) => outer.element.has(n));
}

/**
 * The names `e` reads that it does not bind itself, and whether it calls a request or response
 * macro. Subexpressions for which `skip` is true are not looked into.
 */
function freeReads(e: Expr, skip: (x: Expr) => boolean = () => false): { names: Set<string>; macros: boolean } {
  const names = new Set<string>();
  let macros = false;
  const visit = (x: Expr | undefined, bound: ReadonlySet<string>): void => {
    if (!x || skip(x)) return;
    const k = x.exprKind;
    if (k.case === "identExpr") {
      if (!bound.has(k.value.name)) names.add(k.value.name);
      return;
    }
    if (k.case === "callExpr" && (REQUEST_MACROS.has(k.value.function) || RESPONSE_MACROS.has(k.value.function))) macros = true;
    if (k.case === "comprehensionExpr") {
      const c = k.value;
      visit(c.iterRange, bound);
      visit(c.accuInit, bound);
      const inner = new Set([...bound, ...iterVarsOf(c), c.accuVar]);
      for (const part of [c.loopCondition, c.loopStep, c.result]) visit(part, inner);
      return;
    }
    for (const child of childrenOf(x)) visit(child, bound);
  };
  visit(e, new Set());
  return { names, macros };
}
