import { describe, expect, it } from "vitest";
import { compileExpression } from "./cel-compile.js";
import { createCelRuntime } from "./cel-env.js";
import { CelBudgetExceededError, CelMeter } from "./cel-meter.js";
import { resolvePolicyLimits } from "./policy-limits.js";
import { RequestView, buildBindings } from "./request-view.js";
import { errorsOf, fakeRuntime, policyOf, request } from "./test-fixtures.js";

const respond = (expr: string) =>
  `on_http_request:\n  - name: sorted\n    actions:\n      - type: custom-response\n        config: {status_code: 200, body: ${JSON.stringify(`\${${expr}}`)}}\n`;
const condition = (expr: string) => `on_http_request:\n  - name: sorted\n    expressions: [${JSON.stringify(expr)}]\n    actions: [{type: deny}]\n`;

async function run(expr: string, headers: Record<string, string> = {}) {
  const out = await policyOf(respond(expr)).onHttpRequest(request({ headers }), fakeRuntime());
  if (out.kind !== "respond") throw new Error(`unexpected ${out.kind}`);
  return out;
}

async function render(expr: string, headers: Record<string, string> = {}): Promise<string> {
  const out = await run(expr, headers);
  if (out.status !== 200) throw new Error(`evaluation failed: ${JSON.stringify(out.logs)}`);
  return out.body;
}

const PEOPLE = "[{'name': 'carol', 'age': 35}, {'name': 'alice', 'age': 30}, {'name': 'bob', 'age': 25}]";

describe("list.sortBy(x, key)", () => {
  it("sorts records by a string key and by an int key", async () => {
    expect(await render(`${PEOPLE}.sortBy(p, p.name).map(p, p.name)`)).toBe('["alice","bob","carol"]');
    expect(await render(`${PEOPLE}.sortBy(p, p.age).map(p, p.name)`)).toBe('["bob","alice","carol"]');
    expect(await render("['ccc', 'a', 'bb'].sortBy(s, size(s))")).toBe('["a","bb","ccc"]');
    expect(await render("[3, 1, 2].sortBy(x, -x)")).toBe("[3,2,1]");
    expect(await render("[{'n': 'b', 'v': 2}, {'n': 'a', 'v': 1}].sortBy(e, e.v).map(e, e.n)")).toBe('["a","b"]'); // docs
  });

  it("keeps the order of elements with equal keys", async () => {
    const items = "[{'k': 1, 'id': 'a'}, {'k': 0, 'id': 'b'}, {'k': 1, 'id': 'c'}, {'k': 0, 'id': 'd'}, {'k': 1, 'id': 'e'}]";
    expect(await render(`${items}.sortBy(x, x.k).map(x, x.id)`)).toBe('["b","d","a","c","e"]');
  });

  it("sorts JSON, timestamps, an empty list, and nests", async () => {
    const json = `json.decode('[{"n": 2.5}, {"n": -1}, {"n": 10}]')`;
    expect(await render(`${json}.sortBy(o, o.n).map(o, o.n)`)).toBe("[-1,2.5,10]");
    expect(await render("[timestamp('2024-05-01T00:00:00Z'), timestamp('2023-01-01T00:00:00Z')].sortBy(t, t)[0] == timestamp('2023-01-01T00:00:00Z')")).toBe("true");
    expect(await render("[].sortBy(x, x)")).toBe("[]");
    expect(await render("[[5, 4], [3, 9]].sortBy(l, l.sortBy(x, x)[0])")).toBe("[[3,9],[5,4]]");
  });

  it("sorts request data", async () => {
    expect(await render("getReqHeader('x-list')[0].split(',').sortBy(s, s)", { "x-list": "b,c,a" })).toBe('["a","b","c"]');
  });

  it("fails the evaluation, as a broken rule, when the keys mix types or the value is no list at run time", async () => {
    const out = await run("[{'k': 1}, {'k': 'a'}].sortBy(x, x.k)");
    expect(out.status).toBe(500);
    expect(JSON.stringify(out.logs)).toContain("list.sortBy: keys must all be of the same type");
    const map = await run(`json.decode('{"b": 1, "a": 2}').sortBy(k, k)`);
    expect(map.status).toBe(500);
    expect(JSON.stringify(map.logs)).toContain("sortBy sorts a list");
  });

  it("is checked when the policy loads, at the position of the problem", () => {
    expect(errorsOf(condition("[1, 2].sortBy(x, [x]).size() > 0"))).toMatch(
      /^policy\.yml:3:\d+: on_http_request\[0\] "sorted": expressions\[0\]: a sortBy key must be an int, uint, double, string, bool, bytes, timestamp or duration, not list\(int\)/,
    );
    expect(errorsOf(condition("{'a': 1}.sortBy(x, x).size() > 0"))).toMatch(/sortBy sorts a list, not a map\(string, int\)/);
    expect(errorsOf(condition("[1].sortBy(1, 2).size() > 0"))).toMatch(/sortBy takes a variable name and a key/);
    // The result has the list's type: its elements are ints here.
    expect(errorsOf(condition("[1, 2].sortBy(x, x)[0] == 'a'"))).toMatch(/comparing a int with a string is always false/);
    expect(errorsOf(condition("[1, 2].sortBy(x, x.nope)[0] == 1"))).toMatch(/'x' has no field 'nope': it is a int/);
    // A loop over the request inside the key, for a sortBy over the request: quadratic, refused.
    const nested = "getReqHeader('x')[0].split(',').sortBy(a, getReqHeader('x')[0].split(',').filter(b, b < a).size()).size() > 0";
    expect(errorsOf(condition(nested))).toMatch(/filter\(\) over request data inside sortBy\(\) over request data/);
  });
});

describe("the cost of sortBy", () => {
  function spent(expr: string, n: number, budget = Number.MAX_SAFE_INTEGER): { spent: number; error: unknown } {
    const compiled = compileExpression(createCelRuntime(resolvePolicyLimits()), expr, "on_http_request");
    if (!compiled.ok) throw new Error(compiled.problems[0]?.message);
    const ctx = request({ headers: { "x-list": Array.from({ length: n }, (_, i) => String((i * 7919) % n)).join(",") } });
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
  const sortBy = "getReqHeader('x-list')[0].split(',').sortBy(s, s)";
  const pairsOnly = "getReqHeader('x-list')[0].split(',').map(s, [s, s])";

  it("charges n·log n comparisons on top of computing the keys", () => {
    for (const n of [100, 1000]) {
      const extra = spent(sortBy, n).spent - spent(pairsOnly, n).spent;
      expect(extra).toBeGreaterThanOrEqual(n * Math.ceil(Math.log2(n + 1)));
    }
  });

  it("stops when the budget runs out", () => {
    const { spent: all } = spent(sortBy, 1000);
    const { error } = spent(sortBy, 1000, all - 1);
    expect(error).toBeInstanceOf(CelBudgetExceededError);
  });
});
