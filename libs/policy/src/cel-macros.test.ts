import { describe, expect, it } from "vitest";
import { type RequestInit, fakeRuntime, policyOf, request } from "./test-fixtures.js";

/** Renders `${expr}` through a custom-response body, so any value type can be compared as text. */
async function render(expr: string, init: RequestInit = {}): Promise<string> {
  const policy = policyOf(`on_http_request:\n  - actions:\n      - type: custom-response\n        config: {status_code: 200, body: ${JSON.stringify(`\${${expr}}`)}}\n`);
  const out = await policy.onHttpRequest(request(init), fakeRuntime());
  if (out.kind !== "respond") throw new Error(`unexpected ${out.kind}`);
  if (out.status !== 200) throw new Error(`evaluation failed: ${JSON.stringify(out.logs)}`);
  return out.body;
}

const req: RequestInit = {
  url: "https://api.example.com/v1/users/42?page=2&tag=a&tag=b&empty=",
  headers: { "X-Api-Key": "k1", Accept: ["text/html", "application/json"], Cookie: "session=abc; theme=dark; session=second" },
  clientIp: "10.1.2.3",
};

describe("request macros", () => {
  const cases: Array<[string, string]> = [
    ["getReqHeader('x-api-key')", '["k1"]'],
    ["getReqHeader('X-API-KEY')", '["k1"]'],
    ["getReqHeader('accept')", '["text/html","application/json"]'],
    ["getReqHeader('missing')", "[]"],
    ["hasReqHeader('Accept')", "true"],
    ["hasReqHeader('missing')", "false"],
    ["getQueryParam('tag')", '["a","b"]'],
    ["getQueryParam('page')[0]", "2"],
    ["getQueryParam('nope')", "[]"],
    ["hasQueryParam('empty')", "true"],
    ["hasQueryParam('nope')", "false"],
    ["getReqCookie('session').value", "abc"],
    ["getReqCookie('nope').value", ""],
    ["hasReqCookie('theme')", "true"],
    ["hasReqCookie('nope')", "false"],
    ["inCidrRange(conn.client_ip, '10.0.0.0/8')", "true"],
    ["inCidrRange(conn.client_ip, '10.1.2.4/32')", "false"],
    ["inCidrRange('2001:db8::1', '2001:db8::/32')", "true"],
    ["inCidrRange('2001:db9::1', '2001:db8::/32')", "false"],
    ["inCidrRange('::ffff:10.1.2.3', '10.0.0.0/8')", "true"],
    ["inCidrRange('not an ip', '10.0.0.0/8')", "false"],
    ["inCidrRanges(conn.client_ip, ['192.168.0.0/16', '10.1.0.0/16'])", "true"],
    ["inCidrRanges(conn.client_ip, ['192.168.0.0/16', '::1/128'])", "false"],
  ];
  it.each(cases)("%s → %s", async (expr, expected) => {
    expect(await render(expr, req)).toBe(expected);
  });
});

describe("variables", () => {
  const cases: Array<[string, string]> = [
    ["req.method", "GET"],
    ["req.host", "api.example.com"],
    ["req.url", "https://api.example.com/v1/users/42?page=2&tag=a&tag=b&empty="],
    ["req.url.path", "/v1/users/42"],
    ["req.url.query", "page=2&tag=a&tag=b&empty="],
    ["req.url.query_params['tag']", '["a","b"]'],
    ["req.url.scheme + ' ' + req.url.host + ' ' + string(req.url.port)", "https api.example.com 443"],
    ["req.headers['x-api-key'][0]", "k1"],
    ["req.content_length", "0"],
    ["conn.client_ip + ':' + string(conn.client_port)", "10.1.2.3:51234"],
    ["conn.ts.start", "2026-01-01T00:00:00.000Z"],
    ["timestamp(time.now) >= conn.ts.start", "true"],
    ["endpoint.id + ' ' + endpoint.url + ' ' + endpoint.host + ' ' + endpoint.protocol", "ep_1 https://api.example.com api.example.com https"],
    ["req.user_agent.is_bot", "false"],
  ];
  it.each(cases)("%s → %s", async (expr, expected) => {
    expect(await render(expr, req)).toBe(expected);
  });

  it("classifies user agents", async () => {
    const chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";
    expect(await render("req.user_agent.browser.name + ' ' + string(req.user_agent.is_bot)", { headers: { "user-agent": chrome } })).toBe("Chrome false");
    expect(await render("req.user_agent.is_bot", { headers: { "user-agent": "Googlebot/2.1 (+http://www.google.com/bot.html)" } })).toBe("true");
  });
});

describe("standard CEL and string functions", () => {
  const cases: Array<[string, string]> = [
    ["'Hello'.lowerAscii() + 'x'.upperAscii()", "helloX"],
    ["'a,b,c'.split(',').size()", "3"],
    ["'  pad '.trim()", "pad"],
    ["'abc'.startsWith('ab') && 'abc'.endsWith('bc') && 'abc'.contains('b')", "true"],
    ["'path/to'.replace('/', '-')", "path-to"],
    ["'hello'.substring(1, 3)", "el"],
    ["['x', 'y'].join('+')", "x+y"],
    ["'/v1/users/42'.matches('^/v[0-9]+/users/[0-9]+$')", "true"],
    ["int('42') + 1", "43"],
    ["size('héllo')", "5"],
    ["duration('1m') > duration('30s')", "true"],
    ["{'a': 1}['a']", "1"],
    ["{'a': '}'}['a']", "}"],
  ];
  it.each(cases)("%s → %s", async (expr, expected) => {
    expect(await render(expr)).toBe(expected);
  });

  it("runs RE2, so a pathological pattern completes instead of backtracking", async () => {
    // With a backtracking engine this takes seconds to minutes; RE2 is linear in the input.
    expect(await render("'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!'.matches('^(a+)+$')")).toBe("false");
    expect(await render("'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'.matches('^(a+)+$')")).toBe("true");
  });

  it("matches dynamic patterns from request data", async () => {
    expect(await render("'abc'.matches(req.headers['x-re'][0])", { headers: { "x-re": "^a.c$" } })).toBe("true");
  });
});
