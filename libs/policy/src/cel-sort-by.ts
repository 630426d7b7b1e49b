import { type CelFunc, type CelList, type CelValue, CelScalar, celFunc, isCelList, listType } from "@bufbuild/cel";
import { type Expr, type ParsedExpr, childrenOf, maxId } from "./cel-ast.js";
import { listSortByPairs } from "./cel-functions/lists.js";

/**
 * cel-go's `sortBy` macro, from the lists extension the other list helpers come from:
 * `list.sortBy(x, key)` is `list` ordered by `key` evaluated with `x` bound to each element,
 * ascending and stable.
 *
 * @bufbuild/cel's parser expands only the standard macros and has no hook for more, so the call
 * reaches Onramp as an ordinary member call `sortBy`. The checker (cel-check.ts) types it as a
 * macro, and `expandSortBy` then rewrites it, before the loop rule and the meter see the tree:
 *
 *     list.sortBy(x, key)  →  @sortByPairs(@sortByList(list).map(x, [x, key]))
 *
 * cel-go instead binds the list to a hidden variable and evaluates
 * `@in.@sortByAssociatedKeys(@in.map(x, key))`. Pairs keep `list` evaluated once without a binding,
 * so the loop rule (cel-bounds.ts) sees the real range of the loop rather than a variable, and the
 * meter charges the loop like any `map`. Names starting with `@` cannot be written in a policy.
 */
export const SORT_BY_PAIRS = "@sortByPairs";

/** Wraps the range: a `dyn` that turns out to be a map would otherwise sort its keys. */
const SORT_BY_LIST = "@sortByList";

/** The run-time half: sorts `[[element, key], …]` by key and returns the elements (lists.ts). */
export const sortByFunctions: readonly CelFunc[] = [
  celFunc(SORT_BY_PAIRS, [listType(CelScalar.DYN)], listType(CelScalar.DYN), (pairs: CelList) => listSortByPairs(pairs)),
  celFunc(SORT_BY_LIST, [CelScalar.DYN], CelScalar.DYN, (v: CelValue) => {
    if (!isCelList(v)) throw new Error("list.sortBy: sortBy sorts a list, and this is not one");
    return v;
  }),
];

/** `list.sortBy(x, key)` as the parser leaves it: a member call with a name and a key. */
function isSortBy(e: Expr): e is Expr & { exprKind: { case: "callExpr" } } {
  const k = e.exprKind;
  return k.case === "callExpr" && k.value.function === "sortBy" && k.value.target !== undefined && k.value.args.length === 2 && k.value.args[0]?.exprKind.case === "identExpr";
}

/**
 * Rewrites every well-formed `sortBy` call of `parsed` in place (inner ones too), giving new nodes
 * fresh ids at the position of the call. Run after the checker, which reports malformed ones.
 */
export function expandSortBy(parsed: ParsedExpr): void {
  const root = parsed.expr;
  if (!root) return;
  let nextId = maxId(root) + 1n;
  const positions = parsed.sourceInfo?.positions ?? {};
  const macroCalls = parsed.sourceInfo?.macroCalls ?? {};
  const node = (at: Expr, exprKind: Expr["exprKind"]): Expr => {
    const id = nextId++;
    positions[String(id)] = positions[String(at.id)] ?? 0;
    return { $typeName: "cel.expr.Expr", id, exprKind };
  };
  const call = (at: Expr, fn: string, args: Expr[]): Expr =>
    node(at, { case: "callExpr", value: { $typeName: "cel.expr.Expr.Call", function: fn, args } });
  const ident = (at: Expr, name: string): Expr => node(at, { case: "identExpr", value: { $typeName: "cel.expr.Expr.Ident", name } });
  const list = (at: Expr, elements: Expr[]): Expr =>
    node(at, { case: "listExpr", value: { $typeName: "cel.expr.Expr.CreateList", elements, optionalIndices: [] } });

  const stack: Expr[] = [root];
  const found: Expr[] = [];
  for (let e = stack.pop(); e !== undefined; e = stack.pop()) {
    if (isSortBy(e)) found.push(e);
    stack.push(...childrenOf(e));
  }
  // Outer calls were found first; their targets and keys are moved, not copied, so order is free.
  for (const e of found) {
    if (!isSortBy(e)) continue;
    const { target, args } = e.exprKind.value;
    const [variable, key] = args as [Expr & { exprKind: { case: "identExpr" } }, Expr];
    const name = variable.exprKind.value.name;
    const accu = "@result";
    // Exactly the comprehension @bufbuild/cel builds for `target.map(name, [name, key])`.
    const loop = node(e, {
      case: "comprehensionExpr",
      value: {
        $typeName: "cel.expr.Expr.Comprehension",
        iterVar: name,
        iterVar2: "",
        iterRange: call(e, SORT_BY_LIST, [target!]),
        accuVar: accu,
        accuInit: list(e, []),
        loopCondition: node(e, { case: "constExpr", value: { $typeName: "cel.expr.Constant", constantKind: { case: "boolValue", value: true } } }),
        loopStep: call(e, "_+_", [ident(e, accu), list(e, [list(e, [ident(e, name), key])])]),
        result: ident(e, accu),
      },
    });
    // The loop rule names loops after their macro: this one is reported as sortBy().
    macroCalls[String(loop.id)] = { $typeName: "cel.expr.Expr", id: e.id, exprKind: { case: "callExpr", value: { $typeName: "cel.expr.Expr.Call", function: "sortBy", args: [] } } };
    e.exprKind = { case: "callExpr", value: { $typeName: "cel.expr.Expr.Call", function: SORT_BY_PAIRS, args: [loop] } };
  }
}
