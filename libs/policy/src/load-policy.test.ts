import { describe, expect, it } from "vitest";
import { loadPolicy } from "./load-policy.js";
import { formatPolicyErrors } from "./policy-error.js";
import { errorsOf, policyOf } from "./test-fixtures.js";

describe("loadPolicy: YAML and JSON", () => {
  it("accepts an empty document and a JSON document", () => {
    expect(loadPolicy("").ok).toBe(true);
    const json = JSON.stringify({ on_http_request: [{ actions: [{ type: "deny" }] }] });
    expect(loadPolicy(json, { filename: "policy.json" }).ok).toBe(true);
  });

  it("reports YAML syntax errors with line:column", () => {
    const src = "on_http_request:\n  - name: a\n    actions: [\n";
    expect(errorsOf(src)).toMatch(/^policy\.yml:4:1: YAML syntax error: /);
  });

  it("reports a JSON syntax error with its position", () => {
    const src = '{\n  "on_http_request": [\n    {"actions": [{"type": "deny"}]\n  ]\n}';
    expect(errorsOf(src, { filename: "p.json" })).toMatch(/^p\.json:\d+:\d+: YAML syntax error/);
  });

  it("reports duplicate keys", () => {
    expect(errorsOf("on_http_request: []\non_http_request: []\n")).toMatch(/policy\.yml:2:1: YAML syntax error: Map keys must be unique/);
  });
});

describe("loadPolicy: validation", () => {
  it("formats errors with file, position, phase, rule, name and field path", () => {
    const src = `on_http_request:
  - name: first
    actions:
      - type: deny
  - name: rate limit
    actions:
      - type: rate-limit
        config:
          algorithm: sliding_window
          capacity: 0
          rate: 1m
`;
    expect(errorsOf(src)).toBe(
      'policy.yml:10:21: on_http_request[1] "rate limit": actions[0].config.capacity: must be an integer ≥ 1, got number 0',
    );
  });

  it("names the rule, field and column of a CEL syntax error", () => {
    const src = `on_http_request:
  - name: bad cel
    expressions:
      - "req.method == 'GET'"
      - "req.url.path.startsWith('/a') &&"
    actions:
      - type: deny
`;
    const r = loadPolicy(src);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatchObject({
      phase: "on_http_request",
      ruleIndex: 0,
      ruleName: "bad cel",
      field: "expressions[1]",
      path: "on_http_request[0].expressions[1]",
      line: 5,
    });
    expect(r.errors[0]?.message).toMatch(/CEL syntax error/);
    // The column points inside the quoted expression, not at its first character.
    expect(r.errors[0]?.column).toBeGreaterThan(9);
  });

  it("checks CEL inside ${} interpolation, with the column of the bad expression", () => {
    const src = `on_http_request:
  - actions:
      - type: custom-response
        config:
          status_code: 200
          body: "hello \${req.nope}"
`;
    expect(errorsOf(src)).toBe(
      "policy.yml:6:26: on_http_request[0]: actions[0].config.body: unknown variable 'req.nope'",
    );
  });

  it("reports an unterminated interpolation", () => {
    const src = 'on_http_request:\n  - actions: [{type: custom-response, config: {status_code: 200, body: "a ${req.method"}}]\n';
    expect(errorsOf(src)).toBe("policy.yml:2:75: on_http_request[0]: actions[0].config.body: unterminated ${ (missing })");
  });

  it("says which ngrok actions Onramp does not offer, and why", () => {
    expect(errorsOf(`on_http_request:\n  - actions:\n      - type: owasp-crs-request\n`)).toMatch(
      /^policy\.yml:3:15: on_http_request\[0\]: actions\[0\]\.type: owasp-crs-request is an ngrok action Onramp does not offer: .*Coraza/,
    );
  });

  it("collects every error, not just the first", () => {
    const src = `on_http_reqest:
  - actions: [{type: deny}]
on_http_request:
  - nme: typo
    actions:
      - type: add-header
      - type: deny
        config:
          status_code: "403"
          extra: 1
  - expressions: ["conn.client_ip == 1 +"]
  - actions:
      - type: url-rewrite
        config:
          from: /x
on_http_response:
  - actions:
      - type: rate-limit
        config: {}
`;
    const text = errorsOf(src);
    expect(text.split("\n")).toEqual([
      "policy.yml:1:1: on_http_reqest: unknown phase (expected one of on_tcp_connect, on_http_request, on_http_response)",
      "policy.yml:4:5: on_http_request[0]: nme: unknown rule field (expected name, expressions, actions)",
      expect.stringMatching(/^policy\.yml:6:15: on_http_request\[0\]: actions\[0\]\.type: unknown action type "add-header" \(known: add-headers, /),
      'policy.yml:9:24: on_http_request[0]: actions[1].config.status_code: must be an integer between 100 and 999, got the string "403"',
      "policy.yml:10:11: on_http_request[0]: actions[1].config.extra: unknown field (expected one of: status_code)",
      expect.stringMatching(/^policy\.yml:11:\d+: on_http_request\[1\]: expressions\[0\]: CEL syntax error/),
      "policy.yml:11:5: on_http_request[1]: actions: is required and must list at least one action",
      "policy.yml:15:11: on_http_request[2]: actions[0].config.to: is required",
      "policy.yml:18:15: on_http_response[0]: actions[0].type: rate-limit is not supported in on_http_response (only in on_http_request)",
    ]);
  });

  it("checks types, ranges and required fields of action configs", () => {
    const cases: Array<[string, RegExp]> = [
      ["{type: rate-limit, config: {algorithm: fixed, capacity: 1, rate: 1s}}", /algorithm: must be one of "sliding_window", got "fixed"/],
      ["{type: rate-limit, config: {algorithm: sliding_window, capacity: 5, rate: 500ms}}", /config\.rate: must be between 1s and 24h, got "500ms"/],
      ["{type: rate-limit, config: {algorithm: sliding_window, capacity: 5, rate: soon}}", /config\.rate: must be a duration like/],
      ["{type: rate-limit, config: {algorithm: sliding_window, rate: 1m}}", /config\.capacity: is required/],
      ["{type: deny, config: {status_code: 1000}}", /status_code: must be an integer ≤ 999, got number 1000/],
      ["{type: custom-response, config: {status_code: 99, body: hi}}", /config\.status_code: must be an integer ≥ 100, got number 99/],
      ["{type: add-headers, config: {headers: [a, b]}}", /config\.headers: must be a map, got a list/],
      ["{type: add-headers, config: {headers: {'bad header': x}}}", /"bad header" is not a valid HTTP header name/],
      ["{type: redirect, config: {from: '(unclosed', to: /x}}", /config\.from: invalid RE2 regular expression/],
      ["{type: url-rewrite, config: {from: '(?=lookahead)', to: /x}}", /config\.from: invalid RE2 regular expression/],
      ["{type: forward-internal, config: {url: 'https://example.com'}}", /config\.url: must be an internal endpoint URL/],
      ["{type: forward-internal, config: {url: 'https://a.internal', on_error: retry}}", /on_error: must be one of "halt", "continue"/],
      ["{type: restrict-ips, config: {allow: ['10.0.0.0/33']}}", /allow\[0\]: "10\.0\.0\.0\/33" is not a valid IPv4 or IPv6 CIDR/],
      ["{type: restrict-ips, config: {enforce: true}}", /needs at least one of allow or deny/],
      ["{type: basic-auth, config: {credentials: ['user:']}}", /credentials\[0\]: password must be 1 to 128 characters long/],
      ["{type: basic-auth, config: {credentials: ['nopassword']}}", /credentials\[0\]: must be "username:password"/],
      ["{type: circuit-breaker, config: {error_threshold: 1.5}}", /error_threshold: must be a number ≤ 1/],
      ["{type: circuit-breaker, config: {window_duration: 5m}}", /window_duration: must be between 1s and 2m/],
      ["{type: set-vars, config: {vars: [{'1bad': x}]}}", /"1bad" is not a valid variable name/],
      ["{type: log, config: {metadata: [1]}}", /metadata: must be a map/],
      ["{type: deny, config: {enforce: yes}}", /config\.enforce: unknown field/],
      ["{type: basic-auth, config: {credentials: ['a:12345678'], enforce: 'yes'}}", /enforce: must be true or false, got the string "yes"/],
    ];
    for (const [action, expected] of cases) {
      expect(errorsOf(`on_http_request:\n  - actions:\n      - ${action}\n`), action).toMatch(expected);
    }
  });

  it("rejects the none algorithm and unsupported token locations for jwt-validation", () => {
    const src = `on_http_request:
  - actions:
      - type: jwt-validation
        config:
          issuer: {allow_list: [{value: "https://issuer.example"}]}
          http: {tokens: [{type: jwt, method: query, name: token}]}
          jws:
            allowed_algorithms: [none, RS256]
            keys: {sources: {additional_jkus: ["https://issuer.example/jwks.json"]}}
`;
    const text = errorsOf(src);
    expect(text).toMatch(/actions\[0\]\.config\.http\.tokens\[0\]\.method: must be one of "header", "body", got "query"/);
    expect(text).toMatch(/policy\.yml:8:34: on_http_request\[0\]: actions\[0\]\.config\.jws\.allowed_algorithms\[0\]: "none" is not allowed/);
  });

  it("checks variables, functions and literals in expressions against the phase", () => {
    const cases: Array<[string, string, RegExp]> = [
      ["on_http_request", "res.status_code == 200", /'res' is not available in on_http_request, only in on_http_response/],
      ["on_tcp_connect", "req.method == 'GET'", /'req' is not available in on_tcp_connect/],
      ["on_http_request", "request.method == 'GET'", /unknown variable 'request'/],
      ["on_http_request", "req.methd == 'GET'", /unknown variable 'req.methd'/],
      ["on_http_request", "req.method.size == 1", /'req.method' has no field 'size'/],
      ["on_http_request", "getResHeader('x').size() > 0", /getResHeader\(\) is only available in on_http_response/],
      ["on_tcp_connect", "hasReqHeader('x')", /hasReqHeader\(\) is not available in on_tcp_connect/],
      ["on_http_request", "nosuchfn(req.method)", /unknown function 'nosuchfn'/],
      ["on_http_request", "req.url.path.matches('[a-')", /invalid RE2 regular expression/],
      ["on_http_request", "inCidrRange(conn.client_ip, '300.0.0.0/8')", /invalid CIDR '300\.0\.0\.0\/8'/],
      ["on_http_request", "inCidrRanges(conn.client_ip, ['10.0.0.0/8', 'nope'])", /invalid CIDR 'nope'/],
    ];
    for (const [phase, expr, expected] of cases) {
      const deny = phase === "on_tcp_connect" ? "close-connection" : "deny";
      expect(errorsOf(`${phase}:\n  - expressions: ["${expr}"]\n    actions: [{type: ${deny}}]\n`), expr).toMatch(expected);
    }
  });

  it("accepts comprehension variables, vars.*, actions.* and headers by name", () => {
    policyOf(`on_http_request:
  - expressions:
      - "req.headers.exists(k, k.startsWith('x-'))"
      - "[1, 2].all(n, n > 0)"
      - "vars.anything.goes || actions.ngrok.rate_limit.limited"
      - "req.headers['user-agent'][0].contains('bot') && req.url.contains('/api')"
      - "type(req.method) == string"
    actions: [{type: deny}]
`);
  });

  it("warns about actions after one that always terminates", () => {
    const r = loadPolicy("on_http_request:\n  - actions:\n      - type: deny\n      - type: log\n        config: {metadata: {a: b}}\n");
    expect(r.ok).toBe(true);
    expect(formatPolicyErrors(r.warnings)).toBe("policy.yml:4:9: warning: on_http_request[0]: actions[1]: never runs: deny before it always ends the chain");
  });

  it("requires a cloud policy's request phase to end in an unconditional terminating rule", () => {
    const ok = "on_http_request:\n  - actions: [{type: add-headers, config: {headers: {a: b}}}]\n  - actions: [{type: forward-internal, config: {url: 'https://api.internal'}}]\n";
    expect(loadPolicy(ok, { kind: "cloud" }).ok).toBe(true);
    expect(errorsOf("on_http_request:\n  - expressions: ['true']\n    actions: [{type: deny}]\n", { kind: "cloud" })).toMatch(
      /^policy\.yml:2:5: on_http_request\[0\]: a cloud endpoint's on_http_request must end/,
    );
    expect(errorsOf("on_http_request:\n  - actions: [{type: forward-internal, config: {url: 'https://a.internal', on_error: continue}}]\n", { kind: "cloud" })).toMatch(/must end with a rule/);
    expect(errorsOf("on_http_response: []\n", { kind: "cloud" })).toMatch(/^policy\.yml:1:1: a cloud endpoint's/);
  });
});
