import { type CelEnv, CelScalar, type CelValue, celFunc, isCelList, isCelMap } from "@bufbuild/cel";
import { type Expr, childrenOf, countNodes } from "./cel-ast.js";
import { compileUnits, estimateInstructions, matchUnits } from "./regex-cost.js";
import { takeNgrokWork } from "./cel-functions/index.js";

/**
 * The run-time half of the CEL budget (the load-time half is cel-bounds.ts). `@bufbuild/cel` has
 * no cost tracking or interrupt, and CEL runs on the edge's only event loop, so Onramp counts the
 * work itself, in units of roughly one expression node evaluated (~30 ns here):
 *
 * - each evaluation: the number of nodes in the expression;
 * - each comprehension: the size of its range times (2 + the nodes of its loop body), charged
 *   when the range is known, before the loop runs (a visit costs about two nodes of its own);
 * - each function or operator call: 4, plus the size of its target and arguments and of its
 *   result (strings and bytes: one unit per 4 characters; lists and maps: one per element).
 *   Comparisons are charged their smaller side, `startsWith`/`endsWith` their argument. Calls
 *   whose result can be much bigger than their inputs (`replace`, `join`) are charged for the
 *   largest result they could build; `matches` for its input times its program size, and for
 *   compiling a pattern it has not seen (regex-cost.ts).
 *
 * The meter of one phase run throws as soon as the total passes the budget. A call is charged for
 * its inputs before it runs (for its result after), so a call too big for what is left of the
 * budget does not run.
 */
export class CelMeter {
  private used = 0;

  constructor(readonly budget: number) {}

  /** Units charged so far. */
  get spent(): number {
    return this.used;
  }

  get exhausted(): boolean {
    return this.used > this.budget;
  }

  charge(units: number): void {
    this.used += units;
    if (this.used > this.budget) throw new CelBudgetExceededError(this.budget);
  }
}

/** The CEL work of one phase run went over its budget; the request fails with POLICY_BUDGET_EXCEEDED. */
export class CelBudgetExceededError extends Error {
  override readonly name = "CelBudgetExceededError";

  /** `source`: the expression that ran out, for the log record. */
  constructor(
    readonly budget: number,
    source?: string,
  ) {
    const where = source === undefined ? "" : `${source.length > 100 ? `${source.slice(0, 100)}…` : source}: `;
    super(`${where}over the policy's budget of ${budget.toLocaleString("en-US")} units of work for one request (limit celBudget)`);
  }
}

/** 4: scanning or copying 4 characters costs about what evaluating one node does (~6 ns a character). */
export const CHARS_PER_UNIT = 4;
/** 4: a call through @bufbuild/cel's overload dispatch (argument checks, conversions) is ~150 ns. */
export const CALL_UNITS = 4;

/** What a value costs to handle: its length in units. */
function weight(v: unknown): number {
  if (typeof v === "string") return Math.ceil(v.length / CHARS_PER_UNIT);
  if (v instanceof Uint8Array) return Math.ceil(v.length / CHARS_PER_UNIT);
  if (isCelList(v) || isCelMap(v)) return v.size;
  return 0;
}

/** What the meter needs to know about the policy's `matches()` patterns. */
export interface MeterHooks {
  /** The meter of the evaluation running now, if any. */
  meter(): CelMeter | undefined;
  /** The program size of a pattern compiled and cached already, else undefined. */
  instructionsOf(pattern: string): number | undefined;
}

const COMPARISONS = new Set(["_==_", "_!=_", "_<_", "_<=_", "_>_", "_>=_"]);

/** How a function's calls are priced, decided once per function rather than per call. */
type Pricing = "range" | "comparison" | "prefix" | "replace" | "join" | "matches" | "plain";

function pricingOf(name: string): Pricing {
  if (name === RANGE_FUNCTION) return "range";
  if (COMPARISONS.has(name)) return "comparison";
  if (name === "startsWith" || name === "endsWith") return "prefix";
  if (name === "replace" || name === "join" || name === "matches") return name;
  return "plain";
}

/** Units to charge before a function priced `pricing` runs on these inputs. */
function costBefore(hooks: MeterHooks, pricing: Pricing, target: CelValue | undefined, args: readonly CelValue[]): number {
  if (pricing === "range") return weight(args[0]) * Number(args[1]);
  if (pricing === "comparison") return CALL_UNITS + Math.min(weight(args[0]), weight(args[1]));
  if (pricing === "prefix") return CALL_UNITS + weight(args[0]);
  let units = CALL_UNITS + weight(target);
  for (let i = 0; i < args.length; i++) units += weight(args[i]);
  switch (pricing) {
    case "replace":
      return units + replaceOutputBound(target, args);
    case "join":
      return units + joinOutputBound(target, args[0]);
    case "matches": {
      const [input, pattern] = target === undefined ? args : [target, args[0]];
      if (typeof input !== "string" || typeof pattern !== "string") return units;
      const compiled = hooks.instructionsOf(pattern);
      const compile = compiled === undefined ? compileUnits(pattern) : 0;
      return units + compile + matchUnits(input.length, compiled ?? estimateInstructions(pattern));
    }
    default:
      return units;
  }
}

/** The longest result `s.replace(old, new[, n])` can have, in units; see cel-replace.ts. */
function replaceOutputBound(target: CelValue | undefined, args: readonly CelValue[]): number {
  const [old, replacement, n] = args;
  if (typeof target !== "string" || typeof old !== "string" || typeof replacement !== "string") return 0;
  const limit = typeof n === "bigint" ? Math.max(0, Number(n)) : target.length;
  const occurrences = old === "" ? limit : Math.min(limit, Math.floor(target.length / old.length));
  return Math.ceil((target.length + occurrences * replacement.length) / CHARS_PER_UNIT);
}

/** The length of `list.join(sep)`, in units. */
function joinOutputBound(list: CelValue | undefined, sep: CelValue | undefined): number {
  if (!isCelList(list)) return 0;
  let chars = Math.max(0, list.size - 1) * (typeof sep === "string" ? sep.length : 0);
  for (const item of list) if (typeof item === "string") chars += item.length;
  return Math.ceil(chars / CHARS_PER_UNIT);
}

/**
 * `@range(range, perElement)` wraps the range of every comprehension (see meterComprehensions):
 * it returns the range unchanged, and the meter charges `size(range) × perElement` before the
 * loop starts. The name cannot be written in a policy: CEL identifiers do not start with `@`.
 */
export const RANGE_FUNCTION = "@range";
export const rangeFunction = celFunc(RANGE_FUNCTION, [CelScalar.DYN, CelScalar.INT], CelScalar.DYN, (range) => range);

type FuncResolver = CelEnv["funcs"];
type FuncGroup = NonNullable<ReturnType<FuncResolver["find"]>>;

/**
 * `env` with every function call charged to the meter `hooks.meter()` returns (none while a policy
 * loads). Wrapping the resolver catches operators, the standard library, the strings extension
 * and Onramp's macros alike, and the exception it throws passes straight through the evaluator
 * (which has no try/catch below `plan`), ending the evaluation at once.
 */
export function meteredEnv(env: CelEnv, hooks: MeterHooks): CelEnv {
  const groups = new Map<string, FuncGroup>();
  const wrap = (group: FuncGroup): FuncGroup => {
    const pricing = pricingOf(group.name);
    const isRange = pricing === "range";
    return {
      name: group.name,
      [Symbol.iterator]: () => group[Symbol.iterator](),
      call(id, target, args) {
        const meter = hooks.meter();
        if (meter === undefined) {
          try {
            return group.call(id, target, args);
          } finally {
            takeNgrokWork();
          }
        }
        meter.charge(costBefore(hooks, pricing, target, args));
        let result: ReturnType<FuncGroup["call"]>;
        try {
          result = group.call(id, target, args);
        } catch (err) {
          meter.charge(takeNgrokWork());
          throw err;
        }
        // Nested work the result's size does not show (flatten, json, hashes): counted by the call itself.
        meter.charge((isRange ? 0 : weight(result)) + takeNgrokWork());
        return result;
      },
    } as FuncGroup;
  };
  // The resolver and environment types carry a private brand; `plan` reads only these members.
  const funcs = {
    [Symbol.iterator]: () => env.funcs[Symbol.iterator](),
    find(name: string) {
      let group = groups.get(name);
      if (group === undefined) {
        const inner = env.funcs.find(name);
        if (inner === undefined) return undefined;
        group = wrap(inner);
        groups.set(name, group);
      }
      return group;
    },
  } as unknown as FuncResolver;
  return { namespace: env.namespace, registry: withEnumPrefixCheck(env.registry), variables: env.variables, funcs } as unknown as CelEnv;
}

type Registry = CelEnv["registry"];

/**
 * `registry` with a `getEnum` that answers names outside every enum's package at once. Evaluating
 * `req.url.path.startsWith(…)` asks whether `req.url.path`, then `req.url`, is a type before it
 * reads the variable `req` (CEL's qualified names); each enum lookup hashes a fresh substring,
 * per request. The policy's registry is fixed (the well-known types), so the packages are too.
 */
function withEnumPrefixCheck(registry: Registry): Registry {
  const packages = new Set<string>();
  for (const type of registry) if (type.kind === "enum") packages.add(type.typeName.slice(0, type.typeName.indexOf(".") + 1));
  const prefixes = [...packages];
  const getEnum: Registry["getEnum"] = (typeName) => {
    for (const prefix of prefixes) if (typeName.startsWith(prefix)) return registry.getEnum(typeName);
    return undefined;
  };
  return { ...registry, getEnum };
}

/**
 * Rewrites every comprehension's range `r` into `@range(r, N)`, N being 2 plus the nodes of its
 * loop condition and step, so the meter learns how many elements the loop will visit and what each
 * costs before it starts. Runs on the checked tree, just before it is planned.
 */
export function meterComprehensions(e: Expr): void {
  for (const child of childrenOf(e)) meterComprehensions(child);
  if (e.exprKind.case !== "comprehensionExpr") return;
  const c = e.exprKind.value;
  if (!c.iterRange) return;
  const bodyNodes = (c.loopCondition ? countNodes(c.loopCondition) : 0) + (c.loopStep ? countNodes(c.loopStep) : 0);
  const id = c.iterRange.id;
  const cost: Expr = {
    $typeName: "cel.expr.Expr",
    id,
    exprKind: { case: "constExpr", value: { $typeName: "cel.expr.Constant", constantKind: { case: "int64Value", value: BigInt(2 + bodyNodes) } } },
  };
  c.iterRange = {
    $typeName: "cel.expr.Expr",
    id,
    exprKind: { case: "callExpr", value: { $typeName: "cel.expr.Expr.Call", function: RANGE_FUNCTION, args: [c.iterRange, cost] } },
  };
}
