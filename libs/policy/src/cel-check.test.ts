import { CelScalar, celFunc } from "@bufbuild/cel";
import { describe, expect, it } from "vitest";
import { compileExpression } from "./cel-compile.js";
import { createCelRuntime } from "./cel-env.js";
import { CelMeter } from "./cel-meter.js";
import { DEFAULT_POLICY_LIMITS } from "./policy-limits.js";
import { type RequestInit, errorsOf, fakeRuntime, policyOf, request } from "./test-fixtures.js";

const rt = fakeRuntime();
const ruleWith = (expr: string) => `on_http_request:\n  - name: r\n    expressions: [${JSON.stringify(expr)}]\n    actions: [{type: deny}]\n`;
const bodyWith = (template: string) => `on_http_request:\n  - actions: [{type: custom-response, config: {body: ${JSON.stringify(template)}}}]\n`;

/** What a condition answers for a request: true, false, or "500" when it fails to evaluate. */
async function condition(expr: string, init: RequestInit = {}): Promise<boolean | "500"> {
  const out = await policyOf(ruleWith(expr)).onHttpRequest(request(init), rt);
  if (out.kind === "continue") return false;
  return out.kind === "respond" && out.status === 403 ? true : "500";
}

async function render(template: string, init: RequestInit = {}): Promise<string> {
  const out = await policyOf(bodyWith(template)).onHttpRequest(request(init), rt);
  if (out.kind !== "respond") throw new Error(out.kind);
  return out.body;
}

const CURL = { headers: { "user-agent": "curl/8.5.0" } };
const IPHONE = {
  headers: {
    "user-agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
  },
};

describe("types checked when the policy loads", () => {
  it.each([
    ["req.method.contains(1)", /no overload of 'contains' takes string\.\(int\); it takes string\.\(string\)/],
    ["'a b'.split(1).size() == 2", /no overload of 'split' takes string\.\(int\)/],
    ["req.content_length + 'a' == 1", /no overload of '\+' takes \(int, string\)/],
    ["size(req.method) > 'a'", /no overload of '>' takes \(int, string\)/],
    ["req.url.path[0] == '/'", /cannot index a string/],
    ["getReqHeader('x')['a'] == 'b'", /a list index must be an int, not string/],
    ["req.headers[1].size() > 0", /the keys of 'req.headers' are string, not int/],
    ["req.method && true", /the operands of && must be bool, not string/],
    ["req.method ? true : false", /the condition of \?: must be bool, not string/],
    ["req.headers.exists(k, k.startsWith(1))", /no overload of 'startsWith' takes string\.\(int\)/],
    ["req.method.exists(c, c == 'a')", /cannot iterate over a string/],
    ["req.user_agent.nope == 'x'", /unknown variable 'req.user_agent.nope'/],
    ["req.cookies['s'][0].nope == 'x'", /no field 'nope' \(fields: name, value\)/],
    ["actions.ngrok.restrict_ips.error.code == 'x'", /unknown variable 'actions.ngrok.restrict_ips.error'/],
    ["actions.ngrok.saml.identity == 'x'", /unknown variable 'actions.ngrok.saml'/],
    ["conn.client_ip.geo.country_code == 'NL'", /no GeoIP database/],
    ["req.method", /a rule's expression must be a bool, but this is a string/],
    ["getReqCookie('s').value.size()", /must be a bool, but this is a int/],
    ["req.content_length == '200'", /comparing a int with a string is always false/],
    ["req.headers['a'] != 'b'", /comparing a list\(string\) with a string is always true/],
    ["matches('a', 'b')", /no overload of 'matches' takes \(string, string\)/],
  ])("rejects %s", (expr, message) => {
    expect(errorsOf(ruleWith(expr))).toMatch(message);
  });

  it("names the rule, the field and the column of a type error", () => {
    expect(errorsOf(ruleWith("req.method == 'GET' && req.url.path.endsWith(1)"))).toBe(
      "policy.yml:3:55: on_http_request[0] \"r\": expressions[0]: no overload of 'endsWith' takes string.(int); it takes string.(string)",
    );
  });

  it("rejects type errors inside ${} too", () => {
    expect(errorsOf(bodyWith("${actions.ngrok.restrict_ips.error.code}"))).toMatch(
      /actions\[0\]\.config\.body: unknown variable 'actions.ngrok.restrict_ips.error'/,
    );
  });

  it.each([
    "vars.flag",
    "vars.n + 1 > 2",
    "int(vars.n) > 2 || vars.s.contains('a')",
    "req.headers['x'][0] == 'a'",
    "getReqHeader('x').exists(v, v.contains('a'))",
    "req.url.query_params.exists(k, k == 'a' && req.url.query_params[k][0] == 'b')",
    "[1, 2].map(x, x * 2).size() == 2",
    "{'a': 1}['a'] == 1",
    "req.content_length == 1.0 && vars.x == 'a' && req.user_agent == req.url && req.headers != {} && getReqCookie('s') != null",
    "type(vars.x) == string",
    "timestamp(time.now) > timestamp('2020-01-01T00:00:00Z') && timestamp(time.now) - conn.ts.start < duration('1h')",
    "has(req.headers.host) && has(req.user_agent.name) && !has(vars.x)",
    "'a' in req.headers || req.method in ['GET', 'HEAD']",
    "'%s %d'.format([req.method, req.content_length]) != ''",
    "actions.ngrok.rate_limit.remaining > 0 || actions.ngrok.jwt_validation.error.code == ''",
  ])("accepts %s", (expr) => {
    expect(() => policyOf(ruleWith(expr))).not.toThrow();
  });
});

describe("strings with fields", () => {
  it("reads req.user_agent as a string and as an object", async () => {
    expect(await condition("req.user_agent.contains('curl')", CURL)).toBe(true);
    expect(await condition("req.user_agent == 'curl/8.5.0'", CURL)).toBe(true);
    expect(await condition("req.user_agent.is_bot && req.user_agent.name == 'curl' && req.user_agent.version == '8.5.0'", CURL)).toBe(true);
    expect(await condition("req.user_agent.startsWith('Mozilla') && req.user_agent.is_mobile && req.user_agent.os == 'iOS'", IPHONE)).toBe(true);
    expect(await condition("req.user_agent.name == 'Safari' && !req.user_agent.is_bot", IPHONE)).toBe(true);
    expect(await condition("req.user_agent.matches('(?i)curl') && size(req.user_agent) == 10 && string(req.user_agent) == 'curl/8.5.0'", CURL)).toBe(true);
    expect(await condition("req.user_agent == ''")).toBe(true);
    expect(await render("${req.user_agent}|${req.user_agent.name}", CURL)).toBe("curl/8.5.0|curl");
  });

  it("reads conn.client_ip as a string", async () => {
    expect(await condition("conn.client_ip == '203.0.113.7' && conn.client_ip.startsWith('203.')")).toBe(true);
    expect(await condition("inCidrRange(conn.client_ip, '2001:db8::/32')", { clientIp: "2001:db8::1" })).toBe(true);
    expect(await render("${conn.client_ip}")).toBe("203.0.113.7");
  });

  it("reads req.content_type as the media type, with its raw value and parameters", async () => {
    const json = { headers: { "content-type": "Application/JSON; charset=\"utf-8\"" } };
    expect(await condition("req.content_type == 'application/json' && req.content_type.parameters['charset'] == 'utf-8'", json)).toBe(true);
    expect(await render("${req.content_type.raw}", json)).toBe('Application/JSON; charset="utf-8"');
    expect(await condition("req.content_type == '' && req.content_type.parameters.size() == 0")).toBe(true);
  });

  it("keeps req.url a string with fields", async () => {
    const init = { url: "https://api.example.com/api/x?a=1" };
    expect(await condition("req.url.contains('/api/') && req.url.path == '/api/x' && req.url == 'https://api.example.com/api/x?a=1'", init)).toBe(true);
  });
});

describe("inCidrRange with a range computed at run time", () => {
  it("treats an invalid range as no match, not a failure", async () => {
    const init = { headers: { "x-range": "not-a-cidr" } };
    expect(await condition("inCidrRange(conn.client_ip, getReqHeader('x-range')[0])", init)).toBe(false);
    expect(await condition("inCidrRanges(conn.client_ip, [getReqHeader('x-range')[0], '203.0.113.0/24'])", init)).toBe(true);
    expect(await condition("inCidrRange(getReqHeader('x-range')[0], '0.0.0.0/0')", init)).toBe(false);
  });
});

describe("namespaced functions", () => {
  it("calls base64.encode and base64.decode", async () => {
    expect(await render("${base64.encode('héllo')}|${string(base64.decode('aMOpbGxv'))}")).toBe("aMOpbGxv|héllo");
    expect(await condition("string(base64.decode(base64.encode(req.user_agent))) == req.user_agent", CURL)).toBe(true);
  });

  it("checks their names and types when the policy loads", () => {
    expect(errorsOf(ruleWith("base64.nope('x') == 'y'"))).toMatch(/unknown function 'base64.nope'/);
    expect(errorsOf(ruleWith("nope.encode(1) == 'y'"))).toMatch(/unknown function 'nope.encode'/);
    expect(errorsOf(ruleWith("base64.decode('aGk=') == 'hi'"))).toMatch(/comparing a bytes with a string is always false/);
    expect(errorsOf(ruleWith("base64.decode(1) == 'y'"))).toMatch(/no overload of 'base64.decode' takes \(int\); it takes \(string\)/);
    expect(errorsOf(ruleWith("base64.decode('x')"))).toMatch(/must be a bool, but this is a bytes/);
  });

  it("fails the evaluation, not the load, for input that is not base64", async () => {
    expect(await condition("size(base64.decode(getReqHeader('x')[0])) == 0", { headers: { x: "%%%" } })).toBe("500");
  });

  it("takes extra functions from createCelRuntime", () => {
    const twice = celFunc("demo.twice", [CelScalar.STRING], CelScalar.STRING, (s) => s + s);
    const cel = createCelRuntime(DEFAULT_POLICY_LIMITS, [twice]);
    const r = compileExpression(cel, "demo.twice('ab') + demo.twice(req.method)", "on_http_request", "any");
    if (!r.ok) throw new Error(r.problems.map((p) => p.message).join("; "));
    const scope = { bindings: { req: new Map([["method", "GET"]]) }, macros: { request: undefined, response: undefined }, meter: new CelMeter(1e6) };
    expect(r.expr.evaluate(scope)).toBe("ababGETGET");
    const bad = compileExpression(cel, "demo.twice(1)", "on_http_request", "any");
    expect(bad.ok ? [] : bad.problems.map((p) => p.message)).toEqual([expect.stringMatching(/no overload of 'demo.twice' takes \(int\)/)]);
  });
});
