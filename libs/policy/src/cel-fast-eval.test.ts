import { celFunc, CelScalar, parse } from "@bufbuild/cel";
import { describe, expect, it } from "vitest";
import { type CompiledExpr, type EvalScope, compileExpression } from "./cel-compile.js";
import { createCelRuntime } from "./cel-env.js";
import { compileFast, runFast } from "./cel-fast-eval.js";
import { CelBudgetExceededError, CelMeter } from "./cel-meter.js";
import { celToJs } from "./cel-values.js";
import type { ResponseInfo } from "./context.js";
import { EvaluationError, evaluateExpr } from "./interpolation.js";
import { DEFAULT_POLICY_LIMITS } from "./policy-limits.js";
import { type BindingsMaker, RequestView, bindingsMaker } from "./request-view.js";
import { request, tcp } from "./test-fixtures.js";

/**
 * Simple conditions are evaluated without CEL (cel-fast-eval.ts). Each expression here is
 * evaluated as written (the fast path, or CEL when it declines) and as `[expr][0]`, which CEL
 * always evaluates, whose value is the same by definition and which costs 3 more units (the list,
 * the index and the constant): both must give the same value or the same error, charge the same,
 * and run out of budget at the same point, on requests and responses of every shape.
 */

const cel = createCelRuntime({ ...DEFAULT_POLICY_LIMITS, maxExpressions: 10_000 });
/** The policy's variables, answering the dotted names of the paths compiled so far, as a loaded policy's do. */
const makeBindings: BindingsMaker = (...args) => bindingsMaker(cel.variablePaths)(...args);

interface Input {
  readonly name: string;
  scope(budget?: number): EvalScope;
}

function httpInput(name: string, init: Parameters<typeof request>[0], response?: { status: number; headers: Record<string, string[]> }): Input {
  return {
    name,
    scope(budget = 1e6) {
      const ctx = request(init);
      ctx.vars.set("tier", "gold");
      ctx.vars.set("count", 42n);
      ctx.vars.set("flag", true);
      ctx.vars.set("ratio", 0.5);
      ctx.vars.set("list", ["a"]);
      const view = new RequestView(ctx.request);
      const res: ResponseInfo | undefined = response && { statusCode: response.status, headers: new Map(Object.entries(response.headers)) };
      return { bindings: makeBindings(ctx, view, res, () => Date.UTC(2026, 0, 1), "eu"), macros: { request: view, response: res, conn: ctx.conn, vars: ctx.vars }, meter: new CelMeter(budget) };
    },
  };
}

const INPUTS: Input[] = [
  httpInput("GET /admin with headers", {
    method: "GET",
    url: "https://api.example.com/admin/users?x=1",
    headers: { "x-api-key": "k1", "x-tier": ["Gold", "silver"], "user-agent": "curl/8.5.0" },
  }),
  httpInput("DELETE /v0 without headers", { method: "DELETE", url: "https://api.example.com/v0/items" }),
  httpInput("a long path, an empty header", { method: "POST", url: `https://api.example.com/${"a".repeat(97)}`, headers: { "x-tier": [""], "X-Api-Key": "" } }),
  httpInput("a response", { method: "GET", url: "https://api.example.com/" }, { status: 503, headers: { "content-type": ["text/html"], "x-cache": ["HIT", "MISS"] } }),
  {
    name: "no request (on_tcp_connect's scope)",
    scope(budget = 1e6) {
      const ctx = tcp();
      return { bindings: makeBindings(ctx, undefined, undefined, () => 0, "eu"), macros: { request: undefined, response: undefined, conn: ctx.conn, vars: ctx.vars }, meter: new CelMeter(budget) };
    },
  },
];

const EXPRESSIONS = [
  "req.method == 'DELETE'",
  "req.method != 'GET'",
  "'GET' == req.method",
  "req.url.path.startsWith('/admin')",
  "req.url.path.startsWith('/v0/')",
  "req.url.path.endsWith('s')",
  "req.url.path.contains('min')",
  "req.url.path.startsWith(req.method)",
  "req.url.path.startsWith('') && req.url.path.endsWith('')",
  "hasReqHeader('x-api-key')",
  "hasReqHeader('X-API-KEY')",
  "!hasReqHeader('x-api-key')",
  "req.method == 'GET' && hasReqHeader('x-api-key')",
  "req.method == 'GET' || hasReqHeader('x-api-key')",
  "req.method == 'PUT' || req.method == 'DELETE' || req.url.path == '/'",
  "req.method == 'GET' && req.url.path.startsWith('/admin') && !hasReqHeader('x-api-key')",
  "hasReqHeader('x-tier') ? getReqHeader('x-tier')[0] : 'free'",
  "hasReqHeader('x-tier') ? getReqHeader('x-tier')[1] : 'free'",
  "getReqHeader('x-tier')[0]",
  "getReqHeader('X-Tier')[1] == 'silver'",
  "getReqHeader('x-missing')[0] == ''",
  "getReqHeader('x-tier')[0] == ''",
  "req.headers['x-api-key'][0] == ''",
  "req.headers['x-api-key'][0] == 'k1'",
  "req.headers['x-tier'][1]",
  "req.headers['X-Tier'][0]",
  "req.host == 'api.example.com' && req.method.startsWith('G')",
  "req.url.path",
  "req.method",
  "req.headers['x-missing'][0] == 'k1'",
  "req.content_length > 100",
  "req.content_length <= 0 && req.content_length >= 0 && !(req.content_length < 0)",
  "conn.client_port > 1024",
  "conn.client_ip == '203.0.113.7'",
  "conn.client_ip.startsWith('203.')",
  "req.url.port == 443",
  "vars.tier == 'gold'",
  "vars.tier",
  "vars.list",
  "vars.ratio",
  "vars.missing",
  "conn.client_ip",
  "'' + conn.client_ip",
  "vars.count == 42",
  "vars.count == 'x'",
  "vars.flag == true",
  "vars.flag && vars.tier == 'gold'",
  "vars.flag ? vars.ratio : 0.0",
  "vars.ratio == 0.5",
  "vars.missing == 'x'",
  "vars.missing == 'x' || true",
  "vars.list == ['a']",
  "vars.tier ? 1 : 2",
  "hasResHeader('x-cache')",
  "hasResHeader('x-cache') && getResHeader('x-cache')[1] == 'MISS'",
  "res.status_code >= 500",
  "'x' == 'x'",
  "true && false",
  "!true",
];

const compiled = new Map<string, CompiledExpr>();

function compile(source: string): CompiledExpr {
  let expr = compiled.get(source);
  if (expr === undefined) {
    const r = compileExpression(cel, source, "on_http_response");
    if (!r.ok) throw new Error(`${source}: ${r.problems.map((p) => p.message).join("; ")}`);
    expr = r.expr;
    compiled.set(source, expr);
  }
  return expr;
}

/** The value as JSON-safe data, or the error without the expression in front, and what the meter spent. */
function outcome(expr: CompiledExpr, s: EvalScope, extra = 0): unknown {
  try {
    return { value: celToJs(evaluateExpr(expr, s)), spent: s.meter.spent - extra };
  } catch (err) {
    if (err instanceof CelBudgetExceededError) return { overBudget: err.budget - extra };
    if (!(err instanceof EvaluationError)) throw err;
    return { error: err.message.slice(expr.source.length + 2) };
  }
}

describe("evaluating simple conditions without CEL", () => {
  const cases = EXPRESSIONS.flatMap((source) => INPUTS.map((input) => [source, input.name, input] as const));

  it.each(cases)("%s on %s: the value, error and charge CEL gives", (source, _name, input) => {
    expect(outcome(compile(source), input.scope())).toEqual(outcome(compile(`[${source}][0]`), input.scope(), 3));
  });

  it.each(cases)("%s on %s: runs out of budget where CEL does", (source, _name, input) => {
    const cost = input.scope();
    compile(`[${source}][0]`).evaluate(cost);
    const spent = cost.meter.spent - 3;
    for (const budget of [spent - 1, spent]) {
      expect(outcome(compile(source), input.scope(budget))).toEqual(outcome(compile(`[${source}][0]`), input.scope(budget + 3), 3));
    }
  });

  it("answers the common conditions itself", () => {
    const s = INPUTS[0]!.scope();
    const fast = (source: string) => {
      const f = compileFast(parse(source).expr!, cel.replacedFunctions);
      return f && runFast(f, s);
    };
    expect(fast("req.method == 'GET' && hasReqHeader('x-api-key')")).toBe(true);
    expect(fast("req.url.path.startsWith('/admin')")).toBe(true);
    expect(fast("req.method == 'DELETE'")).toBe(false);
    expect(fast("hasReqHeader('x-tier') ? getReqHeader('x-tier')[0] : 'free'")).toBe("Gold");
    expect(fast("req.content_length > 100 || !hasReqHeader('x')")).toBe(true);
    // Declined: CEL answers these (a list, a missing variable, a double comparison, a comprehension).
    for (const declined of ["vars.list == ['a']", "vars.missing == 'x'", "vars.ratio == 0.5", "[1].exists(x, x == 1)", "getReqHeader('x-tier')", "getReqHeader('x-tier')[2]", "hasResHeader('x')"]) {
      expect(fast(declined), declined).toBeUndefined();
    }
  });

  it("leaves a function a policy's function table replaces to CEL", () => {
    const own = createCelRuntime(DEFAULT_POLICY_LIMITS, [celFunc("hasReqHeader", [CelScalar.STRING], CelScalar.BOOL, () => false)]);
    expect(own.replacedFunctions.has("hasReqHeader")).toBe(true);
    expect(own.replacedFunctions.has("startsWith")).toBe(false);
    const r = compileExpression(own, "hasReqHeader('x-api-key')", "on_http_request");
    if (!r.ok) throw new Error("did not compile");
    expect(evaluateExpr(r.expr, INPUTS[0]!.scope())).toBe(false);
  });
});
