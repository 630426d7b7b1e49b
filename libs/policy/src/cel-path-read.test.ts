import { celList, celMap, celUint, parse } from "@bufbuild/cel";
import { describe, expect, it } from "vitest";
import { type CompiledExpr, type EvalScope, compileExpression } from "./cel-compile.js";
import { createCelRuntime } from "./cel-env.js";
import { CelMeter } from "./cel-meter.js";
import { qualifiedPathsOf, readVariablePath, variablePathOf } from "./cel-path-read.js";
import { celToJs } from "./cel-values.js";
import { EvaluationError, evaluateExpr } from "./interpolation.js";
import { DEFAULT_POLICY_LIMITS } from "./policy-limits.js";
import { type BindingsMaker, RequestView, bindingsMaker, buildBindings } from "./request-view.js";
import { request } from "./test-fixtures.js";

/**
 * Plain variable paths are read without CEL (cel-path-read.ts). Each path here is evaluated as
 * written (the direct read, or CEL when the read declines) and as `[path][0]`, which CEL always
 * evaluates and whose value is the same by definition: both must give the same value or the same
 * error, whatever the value is (string, int, bool, double, list, map, CEL value, missing).
 */

const cel = createCelRuntime(DEFAULT_POLICY_LIMITS);

function scope(makeBindings: BindingsMaker = buildBindings): EvalScope {
  const ctx = request({
    url: "https://api.example.com/a/b?q=1&q=2",
    headers: { "x-api-key": ["k1", "k2"], "user-agent": "curl/8.5.0", "x-empty": [] },
  });
  ctx.vars.set("tier", "gold");
  ctx.vars.set("count", 42n);
  ctx.vars.set("flag", true);
  ctx.vars.set("ratio", 0.5);
  ctx.vars.set("empty", "");
  ctx.vars.set("list", ["a", "b"]);
  ctx.vars.set("nested", new Map<string, unknown>([["inner", "deep"], ["n", new Map([["x", "y"]])]]));
  ctx.vars.set("object", { a: "b" });
  ctx.vars.set("cel_list", celList(["c"]));
  ctx.vars.set("cel_map", celMap(new Map([["k", "v"]])));
  ctx.vars.set("uint", celUint(7n));
  ctx.vars.set("nothing", null);
  ctx.actionResults.set("rate_limit", { bucket_key: "k", limited: false, remaining: 3n });
  const view = new RequestView(ctx.request);
  return { bindings: makeBindings(ctx, view, undefined, () => Date.UTC(2026, 0, 1), "eu"), macros: { request: view, response: undefined }, meter: new CelMeter(1e6) };
}

function compile(source: string): CompiledExpr {
  const r = compileExpression(cel, source, "on_http_request");
  if (!r.ok) throw new Error(`${source}: ${r.problems.map((p) => p.message).join("; ")}`);
  return r.expr;
}

/** The value as JSON-safe data, or the error's message without the expression in front. */
function outcome(expr: CompiledExpr, s: EvalScope): unknown {
  try {
    return { value: celToJs(evaluateExpr(expr, s)) };
  } catch (err) {
    if (!(err instanceof EvaluationError)) throw err;
    return { error: err.message.slice(expr.source.length + 2) };
  }
}

const PATHS = [
  "req.method",
  "req.url.path",
  "req.url",
  "req.url.query_params['q'][1]",
  "req.url.port",
  "req.headers['x-api-key'][0]",
  "req.headers['x-api-key'][1]",
  "req.headers['x-api-key'][2]",
  "req.headers['x-api-key'][-1]",
  "req.headers['x-api-key']",
  "req.headers['x-missing'][0]",
  "req.headers['x-empty'][0]",
  "req.headers",
  "req.user_agent",
  "req.user_agent.name",
  "req.user_agent.is_bot",
  "req.content_length",
  "req.ts.header_received",
  "conn.client_ip",
  "conn.client_port",
  "endpoint.port",
  "endpoint.addr",
  "time.now",
  "vars.tier",
  "vars['tier']",
  "vars.count",
  "vars.flag",
  "vars.ratio",
  "vars.empty",
  "vars.list",
  "vars.list[0]",
  "vars.list[5]",
  "vars.nested.inner",
  "vars.nested['n'].x",
  "vars.nested.missing",
  "vars.object.a",
  "vars.cel_list[0]",
  "vars.cel_map.k",
  "vars.uint",
  "vars.nothing",
  "vars.missing",
  "vars.tier[0]",
  "actions.ngrok.rate_limit.bucket_key",
  "actions.ngrok.rate_limit.remaining",
  "actions.ngrok.jwt_validation",
];

describe("reading plain variable paths without CEL", () => {
  it.each(PATHS)("%s gives what CEL gives", (path) => {
    const s = scope();
    expect(outcome(compile(path), s)).toEqual(outcome(compile(`[${path}][0]`), s));
  });

  it.each(PATHS)("inside a larger expression, %s gives the same with variables that answer dotted names", (path) => {
    const expr = compile(`[${path}][0]`);
    expect(cel.variablePaths.size).toBeGreaterThan(0);
    expect(outcome(expr, scope(bindingsMaker(cel.variablePaths)))).toEqual(outcome(expr, scope()));
  });

  it("answers dotted names only for plain variable paths that no comprehension rebinds", () => {
    const names = (source: string) => {
      const out = new Map();
      qualifiedPathsOf(parse(source).expr!, new Set(["req", "vars"]), out);
      return [...out.keys()];
    };
    expect(names("req.url.path.startsWith('/a') && req.method == 'GET'")).toEqual(["req.url.path", "req.method"]);
    expect(names("req.headers['x-api-key'][0] == 'k' || vars['tier'] == 'gold'")).toEqual(["vars.tier"]);
    expect(names("[1].exists(vars, vars.tier == 1) || vars.tier == 'gold'")).toEqual([]);
    expect(names("other.a.b == 1")).toEqual([]);
    // A rebound name reads the loop's value, not the variable's, with the policy's variables too
    // (answering `vars.tier` there would read the variable: false).
    const own = createCelRuntime(DEFAULT_POLICY_LIMITS);
    const r = compileExpression(own, "[{'tier': 'loop'}].exists(vars, vars.tier == 'loop')", "on_http_request");
    if (!r.ok) throw new Error("did not compile");
    expect(outcome(r.expr, scope(bindingsMaker(own.variablePaths)))).toEqual({ value: true });
    expect(outcome(r.expr, scope(bindingsMaker(new Map([["vars.tier", { root: "vars", steps: ["tier"] }]]))))).toEqual({ value: false });
  });

  it("reads the common paths directly, and declines what CEL must answer", () => {
    const s = scope();
    const direct = (source: string) => {
      const path = variablePathOf(parse(source).expr!);
      return path && readVariablePath(path, s.bindings);
    };
    expect(direct("req.url.path")).toBe("/a/b");
    expect(direct("req.headers['x-api-key'][1]")).toBe("k2");
    expect(direct("vars.tier")).toBe("gold");
    expect(direct("vars.count")).toBe(42n);
    expect(direct("conn.client_ip['$str']")).toBe("203.0.113.7");
    for (const declined of ["vars.missing", "vars.list", "vars.uint", "vars.cel_list[0]", "vars.object.a", "req.headers['x-api-key'][2]", "vars.list['0']", "vars.nested[0]"]) {
      expect(direct(declined), declined).toBeUndefined();
    }
    for (const notAPath of ["vars.tier + ''", "has(vars.tier)", "req.headers[vars.tier]", "vars.list[0u]", "'x'"]) {
      expect(variablePathOf(parse(notAPath).expr!), notAPath).toBeUndefined();
    }
  });

  it("charges the budget what CEL charges: one unit per node", () => {
    const spent = (source: string) => {
      const s = scope();
      compile(source).evaluate(s);
      return s.meter.spent;
    };
    // Read directly; answered by CEL (a uint); and a failed read, all paths of the same size.
    expect(spent("vars.tier")).toBe(2);
    expect(spent("vars.uint")).toBe(2);
    expect(spent("vars.missing")).toBe(2);
    expect(spent("req.headers['x-api-key'][0]")).toBe(spent("req.headers['x-missing'][0]"));
  });

  it("stops at the budget like CEL, naming the expression", () => {
    const s = { ...scope(), meter: new CelMeter(1) };
    expect(() => compile("vars.tier").evaluate(s)).toThrow(/vars\.tier: over the policy's budget of 1 units/);
  });
});
