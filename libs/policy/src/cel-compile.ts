import { type CelResult, celError, parse, plan } from "@bufbuild/cel";
import { type Expr, type ParsedExpr, countNodes } from "./cel-ast.js";
import { checkDepth, checkLoops } from "./cel-bounds.js";
import { type CelRuntime, type MacroScope, REQUEST_MACROS, RESPONSE_MACROS } from "./cel-env.js";
import { CelBudgetExceededError, type CelMeter, meterComprehensions } from "./cel-meter.js";
import { parseCidr } from "./cidr.js";
import type { PolicyPhase } from "./policy-error.js";
import { compileRegex } from "./regex.js";
import { REQ_URL_STRING_KEY } from "./request-view.js";

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

export interface CelProblem {
  /** Offset into the expression text. */
  readonly offset: number;
  readonly message: string;
}

export type CompileResult = { ok: true; expr: CompiledExpr } | { ok: false; problems: CelProblem[] };

/**
 * Known variables, so `req.methd` fails when the policy loads instead of on every request.
 * "map" and "any" stop the check: below them are header names, var names, action results.
 */
type Shape = "leaf" | "map" | "any" | { readonly [field: string]: Shape };
const VARIABLES: { readonly [root: string]: Shape } = {
  conn: { client_ip: "leaf", client_port: "leaf", server_ip: "leaf", server_port: "leaf", server_region: "leaf", ts: { start: "leaf" } },
  req: {
    method: "leaf", host: "leaf", headers: "map", content_length: "leaf", cookies: "map",
    url: { path: "leaf", query: "leaf", query_params: "map", raw: "leaf", scheme: "leaf", host: "leaf", port: "leaf" },
    user_agent: { raw: "leaf", is_bot: "leaf", browser: { name: "leaf", version: "leaf" } },
  },
  res: { status_code: "leaf", headers: "map" },
  endpoint: { id: "leaf", url: "leaf", host: "leaf", protocol: "leaf" },
  time: { now: "leaf" },
  vars: "any",
  actions: "any",
};
const TYPE_NAMES = new Set(["int", "uint", "double", "bool", "string", "bytes", "list", "map", "null_type", "type", "dyn"]);

function rootsFor(phase: PolicyPhase): Set<string> {
  const roots = new Set(["conn", "endpoint", "time", "vars", "actions"]);
  if (phase !== "on_tcp_connect") roots.add("req");
  if (phase === "on_http_response") roots.add("res");
  return roots;
}

/** Parses a CEL parse error's position; the parser reports `<input>:line:col: message`. */
function parseProblem(err: unknown): CelProblem {
  const e = err as { location?: { start?: { offset?: number } }; rawMessage?: string; message?: string };
  const message = (e.rawMessage ?? e.message ?? String(err)).replace(/^<input>:\d+:\d+: /, "");
  return { offset: e.location?.start?.offset ?? 0, message: `CEL syntax error: ${message}` };
}

export function compileExpression(rt: CelRuntime, source: string, phase: PolicyPhase): CompileResult {
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
  new Checker(rt, rootsFor(phase), phase, offsetOf, problems).walk(root, new Set());
  const macroCalls = parsed.sourceInfo?.macroCalls ?? {};
  const macroNameOf = (id: bigint): string | undefined => {
    const call = macroCalls[String(id)]?.exprKind;
    return call?.case === "callExpr" ? call.value.function : undefined;
  };
  problems.push(...checkLoops(root, macroNameOf, offsetOf));
  if (problems.length > 0) return { ok: false, problems };
  const nodes = countNodes(root);
  meterComprehensions(root);
  let planned: ReturnType<typeof plan>;
  try {
    planned = plan(rt.env, parsed);
  } catch (err) {
    return { ok: false, problems: [{ offset: 0, message: err instanceof Error ? err.message : String(err) }] };
  }
  return {
    ok: true,
    expr: {
      source,
      evaluate(scope) {
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
          scope.meter.charge(nodes);
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

class Checker {
  constructor(
    private readonly rt: CelRuntime,
    private readonly roots: Set<string>,
    private readonly phase: PolicyPhase,
    private readonly offsetOf: (e: Expr) => number,
    private readonly problems: CelProblem[],
  ) {}

  private problem(e: Expr, message: string): void {
    this.problems.push({ offset: this.offsetOf(e), message });
  }

  walk(e: Expr | undefined, locals: ReadonlySet<string>): void {
    if (!e) return;
    const k = e.exprKind;
    switch (k.case) {
      case "identExpr":
        this.checkPath(e, k.value.name, [], locals);
        return;
      case "selectExpr":
        this.walkSelect(e, locals);
        return;
      case "callExpr":
        this.checkCall(e, k.value.function, k.value.target, k.value.args);
        this.walk(k.value.target, locals);
        for (const a of k.value.args) this.walk(a, locals);
        return;
      case "listExpr":
        for (const el of k.value.elements) this.walk(el, locals);
        return;
      case "structExpr":
        for (const entry of k.value.entries) {
          if (entry.keyKind.case === "mapKey") this.walk(entry.keyKind.value, locals);
          this.walk(entry.value, locals);
        }
        return;
      case "comprehensionExpr": {
        const c = k.value;
        this.walk(c.iterRange, locals);
        const inner = new Set([...locals, c.iterVar, c.iterVar2, c.accuVar].filter(Boolean));
        for (const part of [c.accuInit, c.loopCondition, c.loopStep, c.result]) this.walk(part, inner);
        return;
      }
      default:
        return;
    }
  }

  private walkSelect(top: Expr, locals: ReadonlySet<string>): void {
    const fields: string[] = [];
    let cur: Expr | undefined = top;
    while (cur?.exprKind.case === "selectExpr") {
      fields.unshift(cur.exprKind.value.field);
      cur = cur.exprKind.value.operand;
    }
    if (cur?.exprKind.case !== "identExpr") {
      this.walk(cur, locals);
      return;
    }
    const root = cur.exprKind.value.name;
    this.checkPath(cur, root, fields, locals);
    // ngrok's `req.url` is both a string (`req.url.contains('/api')`) and an object
    // (`req.url.path`). A CEL value cannot be both, so a bare `req.url` reads a string stored
    // beside the object.
    if (root === "req" && !locals.has(root) && fields.length === 1 && fields[0] === "url" && top.exprKind.case === "selectExpr") {
      top.exprKind.value.field = REQ_URL_STRING_KEY;
    }
  }

  private checkPath(e: Expr, root: string, fields: readonly string[], locals: ReadonlySet<string>): void {
    if (locals.has(root) || (fields.length === 0 && TYPE_NAMES.has(root))) return;
    if (!(root in VARIABLES)) {
      this.problem(e, `unknown variable '${root}' (known: ${Object.keys(VARIABLES).join(", ")})`);
      return;
    }
    if (!this.roots.has(root)) {
      const where = root === "res" ? "on_http_response" : "on_http_request and on_http_response";
      this.problem(e, `'${root}' is not available in ${this.phase}, only in ${where}`);
      return;
    }
    let shape: Shape | undefined = VARIABLES[root];
    let path = root;
    for (const field of fields) {
      if (shape === "map" || shape === "any") return;
      if (shape === "leaf") {
        this.problem(e, `'${path}' has no field '${field}'`);
        return;
      }
      shape = shape?.[field];
      path = `${path}.${field}`;
      if (shape === undefined) {
        this.problem(e, `unknown variable '${path}'`);
        return;
      }
    }
  }

  private checkCall(e: Expr, fn: string, target: Expr | undefined, args: readonly Expr[]): void {
    if (/^[_@!-]/.test(fn)) return; // operators
    if (this.rt.env.funcs.find(fn) === undefined) {
      this.problem(e, `unknown function '${fn}'`);
      return;
    }
    if (REQUEST_MACROS.has(fn) && this.phase === "on_tcp_connect") {
      this.problem(e, `${fn}() is not available in on_tcp_connect`);
    }
    if (RESPONSE_MACROS.has(fn) && this.phase !== "on_http_response") {
      this.problem(e, `${fn}() is only available in on_http_response`);
    }
    // Literal patterns and ranges are checked now, so a typo fails the load, not every request.
    const literal = (x: Expr | undefined): string | undefined =>
      x?.exprKind.case === "constExpr" && x.exprKind.value.constantKind.case === "stringValue"
        ? x.exprKind.value.constantKind.value
        : undefined;
    if (fn === "matches") {
      const pattern = literal(target ? args[0] : args[1]);
      if (pattern !== undefined) {
        const r = compileRegex(pattern);
        const problem = r.ok ? this.rt.patterns.admit(pattern) : r.message;
        if (problem !== undefined) this.problem(e, problem);
        else this.rt.regexes.compile(pattern);
      }
    }
    if (fn === "inCidrRange" || fn === "inCidrRanges") {
      const arg = args[1];
      const items = arg?.exprKind.case === "listExpr" ? arg.exprKind.value.elements : [arg];
      for (const item of items) {
        const cidr = literal(item);
        if (cidr !== undefined && !parseCidr(cidr)) this.problem(item ?? e, `invalid CIDR '${cidr}'`);
      }
    }
  }
}
