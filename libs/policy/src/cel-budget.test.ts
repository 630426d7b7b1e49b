import { RE2JS } from "@bufbuild/re2";
import { describe, expect, it, vi } from "vitest";
import { compileExpression } from "./cel-compile.js";
import { createCelRuntime } from "./cel-env.js";
import { CelBudgetExceededError, CelMeter } from "./cel-meter.js";
import { createRequestContext } from "./context.js";
import { resolvePolicyLimits } from "./policy-limits.js";
import { RequestView, buildBindings } from "./request-view.js";
import { errorsOf, fakeRuntime, policyOf, request, tcp } from "./test-fixtures.js";

/** The header of the incident: 7,000 comma-separated items, 14 KB. */
const LIST = Array.from({ length: 7000 }, () => "a").join(",");

/** Characters `String.prototype.split` goes through while `run` runs: the work of the incident's expression. */
async function splitWork<T>(run: () => Promise<T>): Promise<{ result: T; chars: number }> {
  const original = String.prototype.split;
  let chars = 0;
  String.prototype.split = function (this: string, ...args: Parameters<typeof original>) {
    chars += this.length;
    return original.apply(this, args);
  } as typeof original;
  try {
    return { result: await run(), chars };
  } finally {
    String.prototype.split = original;
  }
}

/** Evaluates `expr` with an `x-list` header of `n` items under `budget`, returning the units spent. */
function unitsFor(expr: string, n: number, budget = Number.MAX_SAFE_INTEGER): { spent: number; error: unknown } {
  const rt = createCelRuntime(resolvePolicyLimits());
  const compiled = compileExpression(rt, expr, "on_http_request");
  if (!compiled.ok) throw new Error(compiled.problems[0]?.message);
  const ctx = request({ headers: { "x-list": Array.from({ length: n }, () => "a").join(",") } });
  const view = new RequestView(ctx.request);
  const meter = new CelMeter(budget);
  const scope = { bindings: buildBindings(ctx, view, undefined, () => 0, ""), macros: { request: view, response: undefined }, meter };
  try {
    compiled.expr.evaluate(scope);
    return { spent: meter.spent, error: undefined };
  } catch (error) {
    return { spent: meter.spent, error };
  }
}

describe("the 30 s request", () => {
  const incident = "getReqHeader('x-list')[0].split(',').exists(a, getReqHeader('x-list')[0].split(',').exists(b, a == b + 'z'))";
  // The same quadratic work without a nested loop, which the load-time check lets through.
  const quadratic = "getReqHeader('x-list')[0].split(',').exists(a, getReqHeader('x-list')[0].split(',').size() == 0)";
  const policy = (expr: string) => `on_http_request:\n  - name: list check\n    expressions: [${JSON.stringify(expr)}]\n    actions: [{type: deny}]\n`;

  it("does not load: a loop over the request inside another one", () => {
    expect(errorsOf(policy(incident))).toMatch(/^policy\.yml:3:\d+: on_http_request\[0\] "list check": expressions\[0\]: exists\(\) over request data inside exists\(\)/);
  });

  it("stops within the budget when the same work gets past the load check, and says why once", async () => {
    const p = policyOf(policy(quadratic));
    const started = performance.now();
    const { result: out, chars } = await splitWork(() => p.onHttpRequest(request({ headers: { "x-list": LIST } }), fakeRuntime()));
    console.log(`over-budget request: ${(performance.now() - started).toFixed(1)} ms, ${chars.toLocaleString("en-US")} characters split`);
    expect(out).toMatchObject({ kind: "respond", status: 500, code: "POLICY_BUDGET_EXCEEDED" });
    expect(out.logs).toEqual([
      expect.objectContaining({ kind: "evaluation-error", ruleName: "list check", message: expect.stringContaining("limit celBudget") }),
    ]);
    // Unbounded, this splits the 14 KB header once per item: 7,000 × 14 KB = 98 MB.
    expect(chars).toBeLessThan(LIST.length * 30);
  });

  it("costs units in proportion to the work: quadratic work, quadratic units", () => {
    const [small, large] = [unitsFor(quadratic, 100).spent, unitsFor(quadratic, 200).spent];
    expect(large / small).toBeGreaterThan(3.5);
    expect(large / small).toBeLessThan(4.5);
    const [one, two] = [unitsFor("getReqHeader('x-list')[0].split(',').exists(a, a == 'z')", 1000).spent, unitsFor("getReqHeader('x-list')[0].split(',').exists(a, a == 'z')", 2000).spent];
    expect(two / one).toBeGreaterThan(1.8);
    expect(two / one).toBeLessThan(2.2);
  });

  it("charges a loop before it runs, so an over-budget loop does none of its work", async () => {
    const { result, chars } = await splitWork(async () => unitsFor(quadratic, 7000, 100_000));
    expect(result.error).toBeInstanceOf(CelBudgetExceededError);
    expect(chars).toBe(LIST.length); // the outer loop's range, and not one split of the loop body
  });
});

describe("the budget", () => {
  const scan = "getReqHeader('x-list')[0].split(',').exists(a, a == 'z')";
  const list2k = Array.from({ length: 2000 }, () => "a").join(",");

  it("is shared by every expression of a phase run, and fresh for the next request", async () => {
    const rules = (n: number) => `on_http_request:\n${`  - expressions: [${JSON.stringify(`!(${scan})`)}]\n    actions: [{type: add-headers, config: {headers: {x-seen: yes}}}]\n`.repeat(n)}`;
    // Room for two of these rules on a 2,000-item header, not for three.
    const budget = { limits: { celBudget: Math.floor(unitsFor(`!(${scan})`, 2000).spent * 2.5) } };
    const two = policyOf(rules(2), budget);
    const three = policyOf(rules(3), budget);
    const rt = fakeRuntime();
    expect((await two.onHttpRequest(request({ headers: { "x-list": list2k } }), rt)).kind).toBe("continue");
    expect(await three.onHttpRequest(request({ headers: { "x-list": list2k } }), rt)).toMatchObject({ kind: "respond", code: "POLICY_BUDGET_EXCEEDED" });
    // Other requests to the same policy go on: the meter belongs to one run.
    expect((await three.onHttpRequest(request({ headers: { "x-list": "a,b" } }), rt)).kind).toBe("continue");
  });

  it("cannot be dodged by an error that || or && absorbs", async () => {
    const p = policyOf(`on_http_request:\n  - expressions: [${JSON.stringify(`${scan} || true`)}]\n    actions: [{type: deny}]\n`, { limits: { celBudget: 2_000 } });
    expect(await p.onHttpRequest(request({ headers: { "x-list": list2k } }), fakeRuntime())).toMatchObject({ code: "POLICY_BUDGET_EXCEEDED" });
  });

  it("closes the connection in on_tcp_connect and fails the response in on_http_response", async () => {
    const tcpPolicy = policyOf(`on_tcp_connect:\n  - expressions: ["[1, 2, 3, 4, 5, 6, 7, 8, 9, 10].all(i, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].all(j, i * j > 0))"]\n    actions: [{type: deny}]\n`, {
      limits: { celBudget: 500 },
    });
    const closed = tcpPolicy.onTcpConnect(tcp(), fakeRuntime());
    expect(closed.kind).toBe("close");
    expect(closed.logs[0]?.kind === "evaluation-error" && closed.logs[0].message).toContain("limit celBudget");

    const resPolicy = policyOf(`on_http_response:\n  - expressions: [${JSON.stringify(scan)}]\n    actions: [{type: deny}]\n`, { limits: { celBudget: 2_000 } });
    const ctx = request({ headers: { "x-list": list2k } });
    expect(await resPolicy.onHttpResponse(ctx, { statusCode: 200, headers: new Map() }, fakeRuntime())).toMatchObject({ kind: "respond", status: 500, code: "POLICY_BUDGET_EXCEEDED" });
  });

  it("covers the capture search of url-rewrite, stopping it midway", async () => {
    const p = policyOf(`on_http_request:\n  - actions: [{type: url-rewrite, config: {from: "a", to: "b"}}]\n`, { limits: { celBudget: 20_000 } });
    const ok = createRequestContext({ ...request(), request: { ...request().request, path: `/${"a".repeat(100)}` } });
    expect((await p.onHttpRequest(ok, fakeRuntime())).kind).toBe("continue");
    expect(ok.request.path).toBe(`/${"b".repeat(100)}`);
    const long = createRequestContext({ ...request(), request: { ...request().request, path: `/${"a".repeat(8000)}` } });
    expect(await p.onHttpRequest(long, fakeRuntime())).toMatchObject({ kind: "respond", code: "POLICY_BUDGET_EXCEEDED" });
    expect(long.request.path).toBe(`/${"a".repeat(8000)}`);
  });

  it("refuses to compile a long pattern from request data before compiling it", async () => {
    const p = policyOf(`on_http_request:\n  - expressions: ["'abc'.matches(req.headers['x-re'][0])"]\n    actions: [{type: deny}]\n`);
    const compile = vi.spyOn(RE2JS, "compile");
    try {
      const out = await p.onHttpRequest(request({ headers: { "x-re": "a".repeat(14_000) } }), fakeRuntime());
      expect(out).toMatchObject({ code: "POLICY_BUDGET_EXCEEDED" });
      expect(compile).not.toHaveBeenCalled();
      expect((await p.onHttpRequest(request({ headers: { "x-re": "^a.c$" } }), fakeRuntime())).kind).toBe("respond");
      expect(compile).toHaveBeenCalledTimes(1);
    } finally {
      compile.mockRestore();
    }
  });

  it("charges a call that would build a huge string before it runs", () => {
    const { spent, error } = unitsFor("getReqHeader('x-list')[0].replace('', getReqHeader('x-list')[0]).size() > 0", 7000, 100_000);
    expect(error).toBeInstanceOf(CelBudgetExceededError);
    expect(spent).toBeGreaterThan(1_000_000); // ~196 MB of output, charged and refused up front
  });

  it("lets ordinary expressions through with room to spare", () => {
    const ordinary = "req.url.path.startsWith('/api/') && getReqHeader('accept').exists(t, t.contains('json')) && req.url.path.matches('^/api/v[0-9]+/')";
    expect(unitsFor(ordinary, 10).spent).toBeLessThan(500);
  });
});
