import type { CelProblem, Expr } from "./cel-ast.js";
import { type CelRuntime, REQUEST_MACROS, RESPONSE_MACROS } from "./cel-env.js";
import { BOOL, DYN, INT, STRING, STRING_FORM_KEY, type Ty, compatible, fromCelType, iterationTypes, listOf, mapOf, prim, sameType, typeName } from "./cel-types.js";
import { TYPE, TYPE_NAMES, rootsFor } from "./cel-variables.js";
import { variablesOf } from "./ip-intelligence-environment.js";
import { parseCidr } from "./cidr.js";
import type { PolicyPhase } from "./policy-error.js";
import { compileRegex } from "./regex.js";
import { secretEnvName } from "./secrets.js";

type Scope = ReadonlyMap<string, Ty>;
type Func = { readonly target: Ty | undefined; readonly args: readonly Ty[]; readonly result: Ty };

/** Function signatures by name, read once per runtime from its environment. */
const signatures = new WeakMap<CelRuntime, Map<string, Func[]>>();
function signaturesOf(rt: CelRuntime): Map<string, Func[]> {
  let byName = signatures.get(rt);
  if (byName === undefined) {
    byName = new Map();
    for (const f of rt.env.funcs) {
      const list = byName.get(f.name) ?? [];
      list.push({ target: f.target && fromCelType(f.target), args: f.arguments.map(fromCelType), result: fromCelType(f.result) });
      byName.set(f.name, list);
    }
    signatures.set(rt, byName);
  }
  return byName;
}

/** `base64` for `base64.decode(x)`, `a.b` for `a.b.f()`: the target read as a name, if it is one. */
function qualifiedName(e: Expr | undefined): string | undefined {
  if (e?.exprKind.case === "identExpr") return e.exprKind.value.name;
  if (e?.exprKind.case === "selectExpr" && !e.exprKind.value.testOnly) {
    const operand = qualifiedName(e.exprKind.value.operand);
    return operand === undefined ? undefined : `${operand}.${e.exprKind.value.field}`;
  }
  return undefined;
}

const OPERATOR_NAMES: Readonly<Record<string, string>> = { "!_": "!", "-_": "-", "@in": "in" };
const displayName = (fn: string): string => OPERATOR_NAMES[fn] ?? (/^_.+_$/.test(fn) ? fn.slice(1, -1) : fn);
const signature = (target: Ty | undefined, args: readonly Ty[]): string =>
  `${target ? `${typeName(target)}.` : ""}(${args.map(typeName).join(", ")})`;

function constType(e: Expr & { exprKind: { case: "constExpr" } }): Ty {
  const kind = e.exprKind.value.constantKind.case;
  const names: Readonly<Record<string, string>> = {
    boolValue: "bool", int64Value: "int", uint64Value: "uint", doubleValue: "double", stringValue: "string", bytesValue: "bytes", nullValue: "null_type",
  };
  const name = kind === undefined ? undefined : names[kind];
  return name === undefined ? DYN : prim(name);
}

const NUMBERS = new Set(["int", "uint", "double"]);
/** The types `sort` and `sortBy` can order (cel-go's traits.Comparer). */
const SORT_KEYS = new Set(["int", "uint", "double", "string", "bool", "bytes", "timestamp", "duration"]);
/** Whether `==` can ever be true between these types (CEL compares numbers across types). */
function comparable(a: Ty, b: Ty): boolean {
  const family = (t: Ty): string => (t.kind === "record" ? "map" : t.kind === "prim" && NUMBERS.has(t.name) ? "number" : t.kind === "prim" ? t.name : t.kind);
  const [fa, fb] = [family(a), family(b)];
  return fa === fb || [fa, fb].some((f) => f === "dyn" || f === "unsupported" || f === "null_type");
}

function join(types: readonly Ty[]): Ty {
  const [first, ...rest] = types;
  return first !== undefined && rest.every((t) => sameType(t, first)) ? first : DYN;
}

/**
 * Infers the type of every node of a parsed expression, so a policy whose expression cannot work
 * (`req.method.contains(1)`, `'a b'.split()`, `req.user_agent.nope`, a rule condition that is not
 * a bool) fails when it loads, at the position of the bad node, rather than on every request.
 *
 * It also rewrites the tree where Onramp's run-time values differ from ngrok's surface:
 * - a string with fields (`req.user_agent`) used as a string reads its string form;
 * - `ns.f(x)`, when `ns.f` is a declared function, is the global function `ns.f` (the planner
 *   resolves it the same way), not a method `f` of a variable `ns`.
 */
export class TypeChecker {
  private readonly roots: ReadonlySet<string>;
  private readonly funcs: Map<string, Func[]>;
  /** VARIABLES, with `conn.client_ip` typed for what the edge offers this load. */
  private readonly variables: Readonly<Record<string, Ty>>;

  constructor(
    private readonly rt: CelRuntime,
    private readonly phase: PolicyPhase,
    private readonly offsetOf: (e: Expr) => number,
    private readonly problems: CelProblem[],
    private nextId: bigint,
  ) {
    this.roots = rootsFor(phase);
    this.funcs = signaturesOf(rt);
    this.variables = variablesOf(rt);
  }

  /** The type of the whole expression, as a value (a string with fields reads as its string). */
  check(root: Expr, locals: Scope = new Map()): Ty {
    return this.value(root, locals);
  }

  /** At the start of `e`: `req.nope` is reported where `req` is, not at the `.`. */
  private problem(e: Expr, message: string): void {
    let start = e;
    while (start.exprKind.case === "selectExpr" && start.exprKind.value.operand) start = start.exprKind.value.operand;
    this.problems.push({ offset: this.offsetOf(start), message });
  }

  /** The type of `e` where it is used as a value rather than read a field of. */
  private value(e: Expr, scope: Scope): Ty {
    const t = this.infer(e, scope);
    if (t.kind !== "record" || !t.stringForm) return t;
    const inner: Expr = { ...e };
    e.id = this.nextId++;
    e.exprKind = { case: "selectExpr", value: { $typeName: "cel.expr.Expr.Select", operand: inner, field: STRING_FORM_KEY, testOnly: false } };
    return STRING;
  }

  private infer(e: Expr, scope: Scope): Ty {
    const k = e.exprKind;
    switch (k.case) {
      case "constExpr":
        return constType(e as Expr & { exprKind: { case: "constExpr" } });
      case "identExpr":
        return this.ident(e, k.value.name, scope);
      case "selectExpr":
        return this.select(e, k.value.operand, k.value.field, k.value.testOnly, scope);
      case "callExpr":
        return this.call(e, k.value.function, k.value.target, k.value.args, scope);
      case "listExpr":
        return listOf(join(k.value.elements.map((el) => this.value(el, scope))));
      case "structExpr": {
        const keys: Ty[] = [];
        const values: Ty[] = [];
        for (const entry of k.value.entries) {
          if (entry.keyKind.case === "mapKey") keys.push(this.value(entry.keyKind.value, scope));
          if (entry.value) values.push(this.value(entry.value, scope));
        }
        return k.value.messageName ? DYN : mapOf(join(keys), join(values));
      }
      case "comprehensionExpr": {
        const c = k.value;
        const range = c.iterRange ? this.value(c.iterRange, scope) : DYN;
        let vars = iterationTypes(range, c.iterVar2 !== "");
        if (vars === undefined) {
          if (c.iterRange) this.problem(c.iterRange, `cannot iterate over a ${typeName(range)}`);
          vars = [DYN, DYN];
        }
        const inner = new Map(scope);
        inner.set(c.iterVar, vars[0]);
        if (c.iterVar2) inner.set(c.iterVar2, vars[1]);
        inner.set(c.accuVar, c.accuInit ? this.value(c.accuInit, scope) : DYN);
        for (const part of [c.loopCondition, c.loopStep]) if (part) this.value(part, inner);
        return c.result ? this.value(c.result, inner) : DYN;
      }
      default:
        return DYN;
    }
  }

  private ident(e: Expr, name: string, scope: Scope): Ty {
    const local = scope.get(name);
    if (local !== undefined) return local;
    if (TYPE_NAMES.has(name)) return TYPE;
    const t = this.variables[name];
    if (t === undefined) {
      this.problem(e, `unknown variable '${name}' (known: ${Object.keys(this.variables).join(", ")})`);
      return DYN;
    }
    if (!this.roots.has(name)) {
      const where = name === "res" ? "on_http_response" : "on_http_request and on_http_response";
      this.problem(e, `'${name}' is not available in ${this.phase}, only in ${where}`);
      return DYN;
    }
    return t;
  }

  private select(e: Expr, operand: Expr | undefined, field: string, testOnly: boolean, scope: Scope): Ty {
    if (!operand) return DYN;
    const t = this.infer(operand, scope);
    const path = qualifiedName(operand) ?? "the value";
    let result: Ty;
    switch (t.kind) {
      case "record": {
        const f = Object.hasOwn(t.fields, field) ? t.fields[field] : undefined;
        if (f === undefined) {
          const known = `(fields: ${Object.keys(t.fields).join(", ")})`;
          this.problem(e, qualifiedName(operand) ? `unknown variable '${path}.${field}'` : `no field '${field}' ${known}`);
          return testOnly ? BOOL : DYN;
        }
        if (f.kind === "unsupported") {
          this.problem(e, f.reason);
          return DYN;
        }
        result = f;
        break;
      }
      case "map":
        result = t.value;
        break;
      case "prim":
        if (t.name === "timestamp" || t.name === "duration") return DYN;
        this.problem(e, `'${path}' has no field '${field}': it is a ${t.name}`);
        return DYN;
      case "list":
        this.problem(e, `'${path}' has no field '${field}': it is a ${typeName(t)}`);
        return DYN;
      default:
        result = DYN;
    }
    return testOnly ? BOOL : result;
  }

  private call(e: Expr, fn: string, target: Expr | undefined, args: readonly Expr[], scope: Scope): Ty {
    // `base64.decode(x)`: a function with a dotted name, as the planner resolves it.
    const qualified = qualifiedName(target);
    if (qualified !== undefined) {
      const name = `${qualified}.${fn}`;
      if (this.funcs.has(name)) return this.overload(e, name, undefined, args.map((a) => this.value(a, scope)), args);
      const root = qualified.split(".")[0] ?? "";
      if (!scope.has(root) && !(root in this.variables) && !TYPE_NAMES.has(root)) {
        this.problem(e, `unknown function '${name}'`);
        for (const a of args) this.value(a, scope);
        return DYN;
      }
    }
    if (fn === "sortBy" && target) return this.sortBy(e, target, args, scope);
    switch (fn) {
      case "_&&_":
      case "_||_":
      case "!_":
      case "@not_strictly_false":
      case "__not_strictly_false__":
        for (const a of args) this.expectBool(a, this.value(a, scope), fn === "!_" ? "the operand of !" : `the operands of ${displayName(fn)}`);
        return BOOL;
      case "_?_:_": {
        const [cond, yes, no] = args;
        if (cond) this.expectBool(cond, this.value(cond, scope), "the condition of ?:");
        return join([yes, no].map((x) => (x ? this.value(x, scope) : DYN)));
      }
      case "_==_":
      case "_!=_": {
        const [a, b] = args.map((x) => this.value(x, scope));
        if (a && b && !comparable(a, b)) {
          this.problem(e, `comparing a ${typeName(a)} with a ${typeName(b)} is always ${fn === "_==_" ? "false" : "true"}`);
        }
        return BOOL;
      }
      case "_[_]":
        return this.index(e, args, scope);
      case "_?._":
      case "_[?_]":
        for (const a of args) this.infer(a, scope);
        return DYN;
      default: {
        const targetType = target ? this.value(target, scope) : undefined;
        return this.overload(e, fn, targetType, args.map((a) => this.value(a, scope)), args, target);
      }
    }
  }

  /** `list.sortBy(x, key)` (cel-sort-by.ts): the list's own type; `key` typed with `x` an element. */
  private sortBy(e: Expr, target: Expr, args: readonly Expr[], scope: Scope): Ty {
    const t = this.value(target, scope);
    const [variable, key] = args;
    if (args.length !== 2 || variable?.exprKind.case !== "identExpr" || !key) {
      this.problem(e, "sortBy takes a variable name and a key: list.sortBy(x, x.key)");
      return DYN;
    }
    if (t.kind !== "list" && t.kind !== "dyn" && t.kind !== "unsupported") this.problem(target, `sortBy sorts a list, not a ${typeName(t)}`);
    const inner = new Map(scope);
    inner.set(variable.exprKind.value.name, t.kind === "list" ? t.elem : DYN);
    const k = this.value(key, inner);
    if (!(k.kind === "dyn" || k.kind === "unsupported" || (k.kind === "prim" && SORT_KEYS.has(k.name)))) {
      this.problem(key, `a sortBy key must be an int, uint, double, string, bool, bytes, timestamp or duration, not ${typeName(k)}`);
    }
    return t.kind === "list" ? t : listOf(DYN);
  }

  private expectBool(e: Expr, t: Ty, what: string): void {
    if (!compatible(t, BOOL)) this.problem(e, `${what} must be bool, not ${typeName(t)}`);
  }

  private index(e: Expr, args: readonly Expr[], scope: Scope): Ty {
    const [operand, key] = args;
    if (!operand || !key) return DYN;
    const t = this.value(operand, scope);
    const k = this.value(key, scope);
    const path = qualifiedName(operand) ?? "the value";
    switch (t.kind) {
      case "list":
        if (!compatible(k, INT) && !compatible(k, prim("uint"))) this.problem(key, `a list index must be an int, not ${typeName(k)}`);
        return t.elem;
      case "map":
        if (!compatible(k, t.key)) this.problem(key, `the keys of '${path}' are ${typeName(t.key)}, not ${typeName(k)}`);
        return t.value;
      case "record": {
        const literal = key.exprKind.case === "constExpr" ? key.exprKind.value.constantKind : undefined;
        if (literal?.case !== "stringValue") return DYN;
        const f = Object.hasOwn(t.fields, literal.value) ? t.fields[literal.value] : undefined;
        if (f === undefined || f.kind === "unsupported") {
          this.problem(key, f?.reason ?? `unknown variable '${path}.${literal.value}'`);
          return DYN;
        }
        return f;
      }
      case "prim":
        this.problem(e, `cannot index a ${t.name} with []`);
        return DYN;
      default:
        return DYN;
    }
  }

  private overload(e: Expr, fn: string, target: Ty | undefined, args: readonly Ty[], argExprs: readonly Expr[], targetExpr?: Expr): Ty {
    const candidates = this.funcs.get(fn);
    if (candidates === undefined) {
      this.problem(e, `unknown function '${displayName(fn)}'`);
      return DYN;
    }
    this.checkMacro(e, fn, targetExpr, argExprs);
    const matching = candidates.filter(
      (f) =>
        (f.target === undefined) === (target === undefined) &&
        f.args.length === args.length &&
        (f.target === undefined || target === undefined || compatible(target, f.target)) &&
        f.args.every((p, i) => compatible(args[i] ?? DYN, p)),
    );
    if (matching.length === 0) {
      const name = displayName(fn);
      const known = candidates.map((f) => signature(f.target, f.args)).join(", ");
      this.problem(e, `no overload of '${name}' takes ${signature(target, args)}; it takes ${known}`);
      return DYN;
    }
    if (fn === "type") return TYPE;
    return join(matching.map((f) => f.result));
  }

  /** Phase checks for the request macros, and literal patterns and CIDRs checked now rather than on every request. */
  private checkMacro(e: Expr, fn: string, target: Expr | undefined, args: readonly Expr[]): void {
    if (REQUEST_MACROS.has(fn) && this.phase === "on_tcp_connect") this.problem(e, `${fn}() is not available in on_tcp_connect`);
    if (RESPONSE_MACROS.has(fn) && this.phase !== "on_http_response") this.problem(e, `${fn}() is only available in on_http_response`);
    const literal = (x: Expr | undefined): string | undefined =>
      x?.exprKind.case === "constExpr" && x.exprKind.value.constantKind.case === "stringValue" ? x.exprKind.value.constantKind.value : undefined;
    if (fn === "matches") {
      const pattern = literal(target ? args[0] : args[1]);
      if (pattern !== undefined) {
        const r = compileRegex(pattern);
        const problem = r.ok ? this.rt.patterns.admit(pattern) : r.message;
        if (problem !== undefined) this.problem(e, problem);
        else this.rt.regexes.compile(pattern);
      }
    }
    if (fn === "secrets.get" && this.rt.secrets) {
      const [vault, name] = [literal(args[0]), literal(args[1])];
      // Names only: the message must never carry a secret's value.
      if (vault !== undefined && name !== undefined && this.rt.secrets.get(vault, name) === undefined) {
        this.problem(e, `unknown secret '${name}' in vault '${vault}' (define it under secrets: in the edge config or as ${secretEnvName(vault, name)})`);
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
