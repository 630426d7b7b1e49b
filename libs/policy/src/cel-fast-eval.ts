import type { Expr } from "./cel-ast.js";
import { type VariablePath, plainValue, readVariablePath, variablePathOf } from "./cel-path-read.js";
import type { MacroScope } from "./cel-env.js";
import { CALL_UNITS, CHARS_PER_UNIT } from "./cel-meter.js";
import { STRING_FORM_KEY } from "./cel-types.js";

/**
 * A fast path for the rule conditions policies are mostly made of, `req.method == 'DELETE'`,
 * `req.url.path.startsWith('/admin')`, `hasReqHeader('x-api-key')`, `&&`/`||`/`!`/`?:` of those:
 * compiled when the policy loads into closures over the variables, without @bufbuild/cel's
 * planner (an activation, a qualified-name lookup per path, overload dispatch per call).
 *
 * It answers only when every step stays on the plain values it knows (strings, ints, bools, a
 * header list indexed in range) and the result is a string, number, int or bool; there CEL's
 * answer is that same value. Anything else (a missing key, another type, an index out of range)
 * makes it answer `undefined`, and the expression is evaluated by CEL, errors and all. It charges
 * nothing itself: it counts in `fastUnits` the units the CEL meter would charge its calls
 * (cel-meter.ts), which the caller charges with the expression's nodes only when it answered.
 * Over-budget is then the same as through CEL: charges are never negative, so the total passes
 * the budget exactly when some prefix of CEL's charges would have. cel-fast-eval.test.ts checks
 * values, errors and charges against CEL.
 */

/** What a fast expression reads: the phase's variables and the request or response the macros see. */
export interface FastInput {
  readonly bindings: Record<string, unknown>;
  readonly macros: MacroScope;
}

/** A value, or undefined when the fast path declines (the caller then evaluates with CEL). */
export type FastExpr = (input: FastInput) => unknown;

/** Units the calls of the last fast evaluation would cost through the CEL meter; reset by `runFast`. */
let fastUnits = 0;

/** The units of the last `runFast` that answered. */
export function lastFastUnits(): number {
  return fastUnits;
}

/** Runs `fast`: its value when it is a plain scalar, else undefined (see above). */
export function runFast(fast: FastExpr, input: FastInput): string | number | bigint | boolean | undefined {
  fastUnits = 0;
  return plainValue(fast(input));
}

function chars(s: string): number {
  return Math.ceil(s.length / CHARS_PER_UNIT);
}

/** The functions the fast path evaluates itself, unless the policy's function tables replace them. */
const FAST_FUNCTIONS: ReadonlySet<string> = new Set([
  "_==_",
  "_!=_",
  "_<_",
  "_<=_",
  "_>_",
  "_>=_",
  "!_",
  "startsWith",
  "endsWith",
  "contains",
  "hasReqHeader",
  "getReqHeader",
  "hasResHeader",
  "getResHeader",
]);

/** True when `name` is one of FAST_FUNCTIONS and still means the standard function or macro. */
function isFast(name: string, replaced: ReadonlySet<string>): boolean {
  return FAST_FUNCTIONS.has(name) && !replaced.has(name);
}

/**
 * `e` as a fast expression, or undefined when some part of it is not one the fast path knows.
 * `replaced`: the functions the policy's function tables define (`CelRuntime.replacedFunctions`),
 * which may have replaced a standard one: those are left to CEL.
 */
export function compileFast(e: Expr, replaced: ReadonlySet<string>): FastExpr | undefined {
  const k = e.exprKind;
  if (k.case === "constExpr") {
    const c = k.value.constantKind;
    if (c.case === "stringValue" || c.case === "int64Value" || c.case === "boolValue") {
      const value = c.value;
      return () => value;
    }
    return undefined;
  }
  const path = variablePathOf(e);
  if (path !== undefined) return directField(path) ?? ((input) => readVariablePath(path, input.bindings));
  if (k.case !== "callExpr") return undefined;
  const call = k.value;
  const name = call.function;
  if (name === "_&&_" || name === "_||_") {
    const args = compileAll(call.args, replaced);
    return args === undefined || call.target !== undefined ? undefined : logical(args, name === "_||_");
  }
  if (name === "_?_:_" && call.target === undefined && call.args.length === 3) {
    const [cond, t, f] = compileAll(call.args, replaced) ?? [];
    if (cond === undefined || t === undefined || f === undefined) return undefined;
    return (input) => {
      const c = cond(input);
      return c === true ? t(input) : c === false ? f(input) : undefined;
    };
  }
  if (name === "_[_]" && call.target === undefined && call.args.length === 2) return headerIndex(call.args[0] as Expr, call.args[1] as Expr, replaced);
  if (!isFast(name, replaced)) return undefined;
  if (call.target !== undefined) {
    if (call.args.length !== 1) return undefined;
    const target = compileFast(call.target, replaced);
    const arg = compileFast(call.args[0] as Expr, replaced);
    return target === undefined || arg === undefined ? undefined : stringMethod(name, target, arg);
  }
  if (call.args.length === 1) {
    const only = call.args[0] as Expr;
    if (name === "!_") {
      const arg = compileFast(only, replaced);
      if (arg === undefined) return undefined;
      return (input) => {
        const v = arg(input);
        if (typeof v !== "boolean") return undefined;
        fastUnits += CALL_UNITS;
        return !v;
      };
    }
    return headerMacro(name, only);
  }
  if (call.args.length !== 2) return undefined;
  const [left, right] = compileAll(call.args, replaced) ?? [];
  if (left === undefined || right === undefined) return undefined;
  return comparison(name, left, right);
}

function compileAll(args: readonly Expr[], replaced: ReadonlySet<string>): FastExpr[] | undefined {
  const out: FastExpr[] = [];
  for (const a of args) {
    const f = compileFast(a, replaced);
    if (f === undefined) return undefined;
    out.push(f);
  }
  return out;
}

/** `&&` / `||`: left to right, stopping at the first false (true); no call of the meter's. */
function logical(args: readonly FastExpr[], or: boolean): FastExpr {
  return (input) => {
    for (let i = 0; i < args.length; i++) {
      const v = (args[i] as FastExpr)(input);
      if (typeof v !== "boolean") return undefined;
      if (v === or) return or;
    }
    return !or;
  };
}

/** `==`, `!=` over two strings, ints or bools; `<` and co over two ints. The meter charges a comparison its smaller side. */
function comparison(name: string, left: FastExpr, right: FastExpr): FastExpr | undefined {
  const equality = name === "_==_" || name === "_!=_";
  if (!equality && name !== "_<_" && name !== "_<=_" && name !== "_>_" && name !== "_>=_") return undefined;
  return (input) => {
    const l = left(input);
    if (l === undefined) return undefined;
    const r = right(input);
    const type = typeof l;
    if (type !== typeof r) return undefined;
    if (equality ? type !== "string" && type !== "bigint" && type !== "boolean" : type !== "bigint") return undefined;
    fastUnits += CALL_UNITS + (type === "string" ? Math.min(chars(l as string), chars(r as string)) : 0);
    switch (name) {
      case "_==_":
        return l === r;
      case "_!=_":
        return l !== r;
      case "_<_":
        return (l as bigint) < (r as bigint);
      case "_<=_":
        return (l as bigint) <= (r as bigint);
      case "_>_":
        return (l as bigint) > (r as bigint);
      default:
        return (l as bigint) >= (r as bigint);
    }
  };
}

/** `s.startsWith(p)`, `s.endsWith(p)` (charged their argument) and `s.contains(p)` (charged both). */
function stringMethod(name: string, target: FastExpr, arg: FastExpr): FastExpr | undefined {
  if (name !== "startsWith" && name !== "endsWith" && name !== "contains") return undefined;
  return (input) => {
    const s = target(input);
    if (typeof s !== "string") return undefined;
    const p = arg(input);
    if (typeof p !== "string") return undefined;
    if (name === "contains") {
      fastUnits += CALL_UNITS + chars(s) + chars(p);
      return s.includes(p);
    }
    fastUnits += CALL_UNITS + chars(p);
    return name === "startsWith" ? s.startsWith(p) : s.endsWith(p);
  };
}

/** The headers a macro reads, or undefined outside its phase (CEL then reports the error). */
function headersOf(input: FastInput, response: boolean): Map<string, string[]> | undefined {
  return response ? input.macros.response?.headers : input.macros.request?.request.headers;
}

/** `hasReqHeader('x')` and `hasResHeader('x')`, with a literal name (as policies write them). A list (`getReqHeader('x')`) is no value the fast path returns: see headerIndex. */
function headerMacro(name: string, arg: Expr): FastExpr | undefined {
  if (name !== "hasReqHeader" && name !== "hasResHeader") return undefined;
  if (arg.exprKind.case !== "constExpr" || arg.exprKind.value.constantKind.case !== "stringValue") return undefined;
  const given = arg.exprKind.value.constantKind.value;
  const key = given.toLowerCase();
  const argUnits = CALL_UNITS + chars(given);
  const response = name === "hasResHeader";
  return (input) => {
    const headers = headersOf(input, response);
    if (headers === undefined) return undefined;
    fastUnits += argUnits;
    return headers.has(key);
  };
}

/** `getReqHeader('x')[i]` (or the response's): the value, when `i` is in range. The list costs one unit per value. */
function headerIndex(operand: Expr, index: Expr, replaced: ReadonlySet<string>): FastExpr | undefined {
  const k = operand.exprKind;
  if (k.case !== "callExpr" || k.value.target !== undefined || k.value.args.length !== 1 || !isFast(k.value.function, replaced)) return undefined;
  const name = k.value.function;
  if (name !== "getReqHeader" && name !== "getResHeader") return undefined;
  const arg = k.value.args[0] as Expr;
  if (arg.exprKind.case !== "constExpr" || arg.exprKind.value.constantKind.case !== "stringValue") return undefined;
  if (index.exprKind.case !== "constExpr" || index.exprKind.value.constantKind.case !== "int64Value") return undefined;
  const i = index.exprKind.value.constantKind.value;
  if (i < 0n || i > 1_000_000n) return undefined;
  const at = Number(i);
  const given = arg.exprKind.value.constantKind.value;
  const key = given.toLowerCase();
  const argUnits = CALL_UNITS + chars(given);
  const response = name === "getResHeader";
  return (input) => {
    const values = headersOf(input, response)?.get(key);
    if (values === undefined || at >= values.length) return undefined;
    fastUnits += argUnits + values.length;
    return values[at];
  };
}

/**
 * The variables rules read most, straight from their source, which is the one the variables read
 * (both are the execution's): `req.method`, `req.host`, `req.url.path`, `req.headers['name'][i]`
 * from the request the macros see, `conn.client_ip` (as a string) from the connection, `vars.name`
 * from the variables' map. Read through the variables, each costs records made per execution
 * (`req`, `req.url`, `conn`, `conn.client_ip`) and a getter per step. Undefined for any other path,
 * or when the scope does not offer the source (the read then goes through the variables).
 */
function directField(path: VariablePath): FastExpr | undefined {
  const [first, second, third] = path.steps;
  const n = path.steps.length;
  if (path.root === "vars" && n === 1 && typeof first === "string") {
    return (input) => {
      const vars = input.macros.vars;
      return vars === undefined ? readVariablePath(path, input.bindings) : plainValue(vars.get(first));
    };
  }
  if (path.root === "conn" && n === 2 && first === "client_ip" && second === STRING_FORM_KEY) {
    return (input) => {
      const conn = input.macros.conn;
      return conn === undefined ? readVariablePath(path, input.bindings) : conn.clientIp;
    };
  }
  if (path.root !== "req") return undefined;
  if (n === 1 && first === "method") return (input) => input.macros.request?.request.method;
  if (n === 1 && first === "host") return (input) => input.macros.request?.request.host;
  if (n === 2 && first === "url" && second === "path") return (input) => input.macros.request?.request.path;
  if (n === 3 && first === "headers" && typeof second === "string" && typeof third === "bigint" && third >= 0n && third <= 1_000_000n) {
    const at = Number(third);
    return (input) => input.macros.request?.request.headers.get(second)?.[at];
  }
  return undefined;
}

