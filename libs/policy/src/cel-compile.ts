import { type CelResult, celError, parse, plan } from "@bufbuild/cel";
import { type CelProblem, type Expr, type ParsedExpr, countNodes, maxId } from "./cel-ast.js";
import { checkDepth, checkLoops } from "./cel-bounds.js";
import { TypeChecker } from "./cel-check.js";
import type { CelRuntime, MacroScope } from "./cel-env.js";
import { CelBudgetExceededError, type CelMeter, meterComprehensions } from "./cel-meter.js";
import { qualifiedPathsOf, readVariablePath, variablePathOf } from "./cel-path-read.js";
import { compileFast, lastFastUnits, runFast } from "./cel-fast-eval.js";
import { VARIABLE_NAMES } from "./request-view.js";
import { expandSortBy } from "./cel-sort-by.js";
import type { PolicyPhase } from "./policy-error.js";
import { BOOL, type Ty, compatible, typeName } from "./cel-types.js";

/** Everything one evaluation reads: the CEL variables and the request the macros see. */
export interface EvalScope {
  readonly bindings: Record<string, unknown>;
  readonly macros: MacroScope;
  /** The CEL budget of this phase run, shared by all its evaluations. */
  readonly meter: CelMeter;
}

/** A CEL expression parsed, checked and planned once, when the policy loads. */
export interface CompiledExpr {
  readonly source: string;
  /** Throws `CelBudgetExceededError` when the meter runs out; any other failure is a CEL error value. */
  evaluate(scope: EvalScope): CelResult;
}

export type { CelProblem } from "./cel-ast.js";

export type CompileResult = { ok: true; expr: CompiledExpr } | { ok: false; problems: CelProblem[] };

/** Parses a CEL parse error's position; the parser reports `<input>:line:col: message`. */
function parseProblem(err: unknown): CelProblem {
  const e = err as { location?: { start?: { offset?: number } }; rawMessage?: string; message?: string };
  const message = (e.rawMessage ?? e.message ?? String(err)).replace(/^<input>:\d+:\d+: /, "");
  return { offset: e.location?.start?.offset ?? 0, message: `CEL syntax error: ${message}` };
}

/** What the value of an expression must be: `bool` for a rule's conditions, anything in `${}`. */
export type Expected = "bool" | "any";

/** `locals`: variables besides the phase's, typed (e.g. `http-request`'s `attempts` in `retry_condition`). */
export function compileExpression(
  rt: CelRuntime,
  source: string,
  phase: PolicyPhase,
  expected: Expected = "any",
  locals: ReadonlyMap<string, Ty> = new Map(),
): CompileResult {
  const max = rt.limits.maxExpressions;
  if (++rt.expressions > max) {
    // Said once, at the first expression over; the rest are not compiled at all.
    const message = `the policy has more than ${max} CEL expressions (limit maxExpressions), counting each \${} and bucket_key`;
    return { ok: false, problems: rt.expressions === max + 1 ? [{ offset: 0, message }] : [] };
  }
  let parsed: ParsedExpr;
  try {
    parsed = parse(source);
  } catch (err) {
    return { ok: false, problems: [parseProblem(err)] };
  }
  const positions = parsed.sourceInfo?.positions ?? {};
  const offsetOf = (e: Expr): number => positions[String(e.id)] ?? 0;
  const root = parsed.expr;
  if (!root) return { ok: false, problems: [{ offset: 0, message: "empty expression" }] };
  const tooDeep = checkDepth(root, rt.limits.maxExpressionDepth, offsetOf);
  if (tooDeep) return { ok: false, problems: [tooDeep] };
  const problems: CelProblem[] = [];
  const type = new TypeChecker(rt, phase, offsetOf, problems, maxId(root) + 1n).check(root, locals);
  const macroCalls = parsed.sourceInfo?.macroCalls ?? {};
  const macroNameOf = (id: bigint): string | undefined => {
    const call = macroCalls[String(id)]?.exprKind;
    return call?.case === "callExpr" ? call.value.function : undefined;
  };
  expandSortBy(parsed);
  problems.push(...checkLoops(root, macroNameOf, offsetOf));
  if (expected === "bool" && problems.length === 0 && !compatible(type, BOOL)) {
    problems.push({ offset: 0, message: `a rule's expression must be a bool, but this is a ${typeName(type)}` });
  }
  if (problems.length > 0) return { ok: false, problems };
  const nodes = countNodes(root);
  meterComprehensions(root);
  let planned: ReturnType<typeof plan>;
  try {
    planned = plan(rt.env, parsed);
  } catch (err) {
    return { ok: false, problems: [{ offset: 0, message: err instanceof Error ? err.message : String(err) }] };
  }
  const path = variablePathOf(root);
  if (path === undefined) qualifiedPathsOf(root, VARIABLE_NAMES, rt.variablePaths);
  // Comprehensions (rewritten above) are never fast. A plain path it declines is read below, then by CEL.
  const fast = compileFast(root, rt.replacedFunctions);
  return {
    ok: true,
    expr: {
      source,
      evaluate(scope) {
        if (fast !== undefined) {
          const value = runFast(fast, scope);
          if (value !== undefined) {
            chargeFor(scope.meter, nodes + lastFastUnits(), source);
            return value;
          }
        }
        let charged = false;
        if (path !== undefined) {
          chargeFor(scope.meter, nodes, source);
          charged = true;
          const value = readVariablePath(path, scope.bindings);
          if (value !== undefined) return value;
        }
        const previous = rt.current;
        const previousMeter = rt.meter;
        const stackTraceLimit = Error.stackTraceLimit;
        rt.current = scope.macros;
        rt.meter = scope.meter;
        // CEL errors are values (a missing header, a type mismatch) and @bufbuild/cel makes each
        // one an Error; capturing their stacks made an `all()` whose body fails on each of 7,000
        // elements take 53 ms instead of 5. Nothing reads those stacks.
        Error.stackTraceLimit = 0;
        try {
          if (!charged) scope.meter.charge(nodes);
          const result = planned(scope.bindings as never);
          // The meter's exception ends the evaluation, but `plan` turns it into an error value,
          // which `||` or `&&` may absorb; the meter itself says whether the budget ran out.
          if (scope.meter.exhausted) throw new CelBudgetExceededError(scope.meter.budget, source);
          return result;
        } catch (err) {
          if (err instanceof CelBudgetExceededError) throw new CelBudgetExceededError(err.budget, source);
          return celError(err);
        } finally {
          rt.current = previous;
          rt.meter = previousMeter;
          Error.stackTraceLimit = stackTraceLimit;
        }
      },
    },
  };
}

/** Charges one evaluation of an expression, naming it when that runs the budget out. */
function chargeFor(meter: CelMeter, nodes: number, source: string): void {
  try {
    meter.charge(nodes);
  } catch (err) {
    if (err instanceof CelBudgetExceededError) throw new CelBudgetExceededError(err.budget, source);
    throw err;
  }
}
