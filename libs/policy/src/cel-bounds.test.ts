import { describe, expect, it } from "vitest";
import { loadPolicy } from "./load-policy.js";
import { errorsOf } from "./test-fixtures.js";

/** A one-rule policy whose only expression is `expr`. */
const withExpression = (expr: string): string => `on_http_request:\n  - name: r\n    expressions: [${JSON.stringify(expr)}]\n    actions: [{type: deny}]\n`;

describe("loops over request data, checked at load", () => {
  const allowed: Array<[string, string]> = [
    ["one loop over request data", "getReqHeader('x')[0].split(',').exists(a, a == 'b')"],
    ["loops one after the other", "getReqHeader('x')[0].split(',').filter(a, a != '').exists(b, b == 'c')"],
    ["an inner loop over a literal list", "getReqHeader('x')[0].split(',').exists(a, ['b', 'c'].exists(k, a == k))"],
    ["an inner loop over a constant", "getReqHeader('x')[0].split(',').exists(a, 'b,c'.split(',').exists(k, a == k))"],
    ["an outer loop over a literal list", "['x-a', 'x-b'].exists(h, getReqHeader(h).exists(v, v == 'c'))"],
    ["an inner loop over the parts of the outer element", "getReqHeader('accept')[0].split(',').exists(t, t.split(';').exists(p, p.trim() == 'q=0'))"],
    ["three levels, each over parts of the one above", "getReqHeader('x')[0].split(';').exists(a, a.split(',').exists(b, b.split('=').exists(c, c == 'd')))"],
    ["a map's values for each key", "req.headers.exists(h, req.headers[h].exists(v, v.contains('evil')))"],
  ];
  it.each(allowed)("allows %s", (_name, expr) => {
    const r = loadPolicy(withExpression(expr));
    expect(r.ok ? [] : r.errors.map((e) => e.message)).toEqual([]);
  });

  const rejected: Array<[string, string, string]> = [
    // The incident: 30 s of one event loop for one request with a 14 KB header.
    ["the incident", "getReqHeader('x-list')[0].split(',').exists(a, getReqHeader('x-list')[0].split(',').exists(b, a == b))", "exists() over request data inside exists()"],
    ["the same list twice", "getQueryParam('id').all(a, getQueryParam('id').exists_one(b, a == b))", "exists_one() over request data inside all()"],
    ["a loop in the range of an inner loop", "req.url.path.split('/').exists(a, getReqHeader('x').filter(v, v != '').exists(b, a == b))", "filter() over request data inside exists()"],
    ["a variable read again", "vars.ids.map(a, vars.ids.filter(b, b == a))", "filter() over request data inside map()"],
    ["the outer element mixed with other data", "getReqHeader('x')[0].split(',').exists(a, (a + req.url.path).split('/').exists(b, b == 'c'))", "exists() over request data inside exists()"],
    ["a grandparent's element", "getReqHeader('x')[0].split(',').exists(a, a.split(':').exists(b, a.split(':').exists(c, b == c)))", "exists() over request data inside exists()"],
    ["data inside a literal loop inside a data loop", "getReqHeader('x').exists(a, ['k'].exists(k, getReqHeader('y').exists(b, a == b)))", "exists() over request data inside exists()"],
  ];
  it.each(rejected)("rejects %s, naming the rule, field and column", (_name, expr, message) => {
    const text = errorsOf(withExpression(expr));
    expect(text).toContain(`on_http_request[0] "r": expressions[0]: ${message}`);
    expect(text).toContain("grows with the square of the request's size");
    // The column points at the inner loop: the text before it, in the source line, ends with its range.
    const [, line, column] = /^policy\.yml:(\d+):(\d+):/.exec(text) ?? [];
    expect(line).toBe("3");
    const sourceLine = withExpression(expr).split("\n")[2] ?? "";
    expect(sourceLine.slice(Number(column) - 1)).toMatch(/^\.(exists|all|exists_one|map|filter)\(/);
  });

  it("checks interpolations and action expressions too", () => {
    const policy = `on_http_request:
  - actions:
      - type: custom-response
        config: {status_code: 200, body: "\${getReqHeader('x').map(a, getReqHeader('x').filter(b, b == a))}"}
`;
    expect(errorsOf(policy)).toContain("actions[0].config.body: filter() over request data inside map()");
  });
});

describe("expression depth, checked at load", () => {
  it("rejects a tree too deep to check or run, instead of overflowing the stack", () => {
    const deep = `${Array.from({ length: 5000 }, () => "1").join(" + ")} > 0`;
    expect(() => loadPolicy(withExpression(deep))).not.toThrow();
    expect(errorsOf(withExpression(deep))).toContain("nested more than 250 levels deep (limit maxExpressionDepth)");
  });

  it("accepts long chains CEL balances (&&, ||)", () => {
    const wide = Array.from({ length: 2000 }, (_, i) => `req.url.path != '/${i}'`).join(" && ");
    expect(loadPolicy(withExpression(wide)).ok).toBe(true);
  });
});
