import { describe, expect, it } from "vitest";
import type { ResponseInfo } from "./context.js";
import { loadPolicy } from "./load-policy.js";
import { formatPolicyErrors } from "./policy-error.js";
import { errorsOf, fakeRuntime, policyOf, request, tcp } from "./test-fixtures.js";

const rt = fakeRuntime();
const response = (status = 200, headers: Record<string, string> = {}): ResponseInfo => ({
  statusCode: status,
  headers: new Map(Object.entries(headers).map(([k, v]) => [k, [v]])),
});

describe("rule semantics", () => {
  it("ANDs expressions, runs rules in order and stops at a terminating action", async () => {
    const policy = policyOf(`
on_http_request:
  - expressions: ["req.method == 'POST'", "req.url.path == '/a'"]
    actions: [{type: custom-response, config: {status_code: 201}}]
  - actions: [{type: add-headers, config: {headers: {x-step: one}}}]
  - expressions: ["req.url.path == '/a'"]
    actions:
      - type: custom-response
        config: {status_code: 202}
      - type: add-headers
        config: {headers: {x-never: "1"}}
  - actions: [{type: add-headers, config: {headers: {x-step: two}}}]
`);
    expect(await policy.onHttpRequest(request({ method: "POST", url: "https://h/a" }), rt)).toMatchObject({ kind: "respond", status: 201 });
    const get = request({ url: "https://h/a" });
    expect(await policy.onHttpRequest(get, rt)).toMatchObject({ kind: "respond", status: 202 });
    expect(get.request.headers.get("x-step")).toEqual(["one"]);
    expect(get.request.headers.has("x-never")).toBe(false);
    const other = request({ url: "https://h/b" });
    expect(await policy.onHttpRequest(other, rt)).toMatchObject({ kind: "continue" });
    expect(other.request.headers.get("x-step")).toEqual(["one", "two"]);
  });

  it("turns an evaluation error into a 500 with a log record naming the rule", async () => {
    const policy = policyOf(`
on_http_request:
  - name: needs header
    expressions: ["req.headers['x-missing'][0] == 'a'"]
    actions: [{type: deny}]
`);
    const out = await policy.onHttpRequest(request(), rt);
    expect(out).toMatchObject({ kind: "respond", status: 500, code: "INTERNAL" });
    expect(out.logs).toEqual([
      expect.objectContaining({ kind: "evaluation-error", phase: "on_http_request", ruleIndex: 0, ruleName: "needs header" }),
    ]);
  });

  it("rejects an expression that is not a bool when the policy loads", () => {
    const r = loadPolicy(`on_http_request:\n  - expressions: ["req.method"]\n    actions: [{type: deny}]\n`);
    expect(r.ok ? "" : formatPolicyErrors(r.errors)).toBe(
      "policy.yml:2:20: on_http_request[0]: expressions[0]: a rule's expression must be a bool, but this is a string",
    );
  });
});

describe("header actions", () => {
  it("adds interpolated request headers and removes others", async () => {
    const policy = policyOf(`
on_http_request:
  - actions:
      - type: add-headers
        config:
          headers:
            X-Client-IP: "\${conn.client_ip}"
            x-path: "path=\${req.url.path} method=\${req.method}"
            x-bool: "\${hasReqHeader('authorization')}"
      - type: remove-headers
        config: {headers: [Cookie, x-remove]}
  - expressions: ["actions.ngrok.add_headers.headers_added['x-client-ip'] == '203.0.113.7'"]
    actions: [{type: add-headers, config: {headers: {x-saw-result: "yes"}}}]
`);
    const ctx = request({ url: "https://h/p", headers: { cookie: "a=b", "x-remove": "1", "x-keep": "2" } });
    expect((await policy.onHttpRequest(ctx, rt)).kind).toBe("continue");
    const h = ctx.request.headers;
    expect(h.get("x-client-ip")).toEqual(["203.0.113.7"]);
    expect(h.get("x-path")).toEqual(["path=/p method=GET"]);
    expect(h.get("x-bool")).toEqual(["false"]);
    expect(h.has("cookie") || h.has("x-remove")).toBe(false);
    expect(h.get("x-keep")).toEqual(["2"]);
    expect(h.get("x-saw-result")).toEqual(["yes"]);
  });

  it("publishes each request's own added values, in a run of requests alike or not", async () => {
    const policy = policyOf(`
on_http_request:
  - actions: [{type: add-headers, config: {headers: {x-a: "\${req.url.path}", x-b: "\${req.method}"}}}]
  - actions: [{type: add-headers, config: {headers: {x-seen: "\${actions.ngrok.add_headers.headers_added['x-a']} \${actions.ngrok.add_headers.headers_added['x-b']}"}}}]
`);
    const seen: string[] = [];
    for (const [method, path] of [["GET", "/1"], ["GET", "/1"], ["GET", "/2"], ["POST", "/2"], ["POST", "/2"], ["GET", "/1"]]) {
      const ctx = request({ method, url: `https://h${path}` });
      await policy.onHttpRequest(ctx, rt);
      seen.push(ctx.request.headers.get("x-seen")?.join(",") ?? "");
    }
    expect(seen).toEqual(["/1 GET", "/1 GET", "/2 GET", "/2 POST", "/2 POST", "/1 GET"]);
  });

  it("edits response headers in on_http_response, reading res.* and getResHeader", async () => {
    const policy = policyOf(`
on_http_response:
  - expressions: ["res.status_code >= 400 && hasResHeader('x-upstream')"]
    actions:
      - type: add-headers
        config: {headers: {x-error: "\${string(res.status_code)} from \${getResHeader('x-upstream')[0]}"}}
      - type: remove-headers
        config: {headers: [server]}
`);
    const res = response(503, { "x-upstream": "api-1", server: "nginx" });
    const out = await policy.onHttpResponse(request(), res, rt);
    expect(out).toMatchObject({ kind: "continue", compress: undefined });
    expect(res.headers.get("x-error")).toEqual(["503 from api-1"]);
    expect(res.headers.has("server")).toBe(false);
  });

  it("refuses to emit a header value with a line break", async () => {
    const policy = policyOf(`on_http_request:\n  - actions: [{type: add-headers, config: {headers: {x-echo: "\${getReqHeader('x-in')[0]}"}}}]\n`);
    const out = await policy.onHttpRequest(request({ headers: { "x-in": "a\r\nset-cookie: evil" } }), rt);
    expect(out).toMatchObject({ kind: "respond", status: 500 });
  });
});

describe("responses", () => {
  it("custom-response interpolates headers and body and carries no error code", async () => {
    const policy = policyOf(`
on_http_request:
  - actions:
      - type: custom-response
        config:
          status_code: 418
          headers: {content-type: application/json, x-method: "\${req.method}"}
          body: '{"path": "\${req.url.path}", "ip": "\${conn.client_ip}"}'
`);
    const out = await policy.onHttpRequest(request({ url: "https://h/tea" }), rt);
    expect(out).toMatchObject({ kind: "respond", status: 418, body: '{"path": "/tea", "ip": "203.0.113.7"}' });
    if (out.kind !== "respond") return;
    expect(out.code).toBeUndefined();
    expect(Object.fromEntries(out.headers)).toEqual({ "content-type": ["application/json"], "x-method": ["GET"] });
  });

  it("custom-response without status_code answers 200, as in ngrok", async () => {
    const policy = policyOf(`on_http_request:\n  - actions: [{type: custom-response, config: {body: "hello"}}]\n`);
    expect(await policy.onHttpRequest(request(), rt)).toMatchObject({ kind: "respond", status: 200, body: "hello" });
    const bare = policyOf("on_http_request:\n  - actions: [{type: custom-response}]\n");
    expect(await bare.onHttpRequest(request(), rt)).toMatchObject({ kind: "respond", status: 200, body: "" });
  });

  it("custom-response replaces the upstream response in on_http_response", async () => {
    const policy = policyOf(`on_http_response:\n  - expressions: ["res.status_code == 404"]\n    actions: [{type: custom-response, config: {status_code: 404, body: "nothing here"}}]\n`);
    expect(await policy.onHttpResponse(request(), response(404), rt)).toMatchObject({ kind: "respond", status: 404, body: "nothing here" });
    expect(await policy.onHttpResponse(request(), response(200), rt)).toMatchObject({ kind: "continue" });
  });

  it("restrict-ips runs in on_http_response too, as in ngrok: a refused client gets 403 instead of the upstream's response", async () => {
    const policy = policyOf(`
on_http_response:
  - actions:
      - {type: restrict-ips, config: {deny: ["198.51.100.0/24"]}}
      - {type: add-headers, config: {headers: {x-ip: "\${actions.ngrok.restrict_ips.action}"}}}
`);
    const denied = await policy.onHttpResponse(request({ clientIp: "198.51.100.7" }), response(200), rt);
    expect(denied).toMatchObject({ kind: "respond", status: 403, code: "ACCESS_DENIED" });
    const res = response(200);
    expect(await policy.onHttpResponse(request({ clientIp: "192.0.2.1" }), res, rt)).toMatchObject({ kind: "continue" });
    expect(res.headers.get("x-ip")).toEqual(["allow"]);
  });

  it.each([
    ["{type: deny}", 403],
    ["{type: deny, config: {status_code: 404}}", 404],
  ])("%s answers %d with code ACCESS_DENIED", async (action, status) => {
    const out = await policyOf(`on_http_request:\n  - actions: [${action}]\n`).onHttpRequest(request(), rt);
    expect(out).toMatchObject({ kind: "respond", status, code: "ACCESS_DENIED" });
  });

  it("close-connection closes in every phase", async () => {
    const policy = policyOf(`
on_tcp_connect: [{actions: [{type: close-connection}]}]
on_http_request: [{actions: [{type: close-connection}]}]
on_http_response: [{actions: [{type: close-connection}]}]
`);
    expect(policy.onTcpConnect(tcp(), rt).kind).toBe("close");
    expect((await policy.onHttpRequest(request(), rt)).kind).toBe("close");
    expect((await policy.onHttpResponse(request(), response(), rt)).kind).toBe("close");
  });
});

describe("redirect", () => {
  const cases: Array<[string, string, number | undefined, string | undefined]> = [
    ["{to: 'https://example.org/'}", "https://h/x", 302, "https://example.org/"],
    ["{to: 'https://\${req.host}/new\${req.url.path}', status_code: 301}", "https://h/x?q=1", 301, "https://h/new/x"],
    ["{from: '^http://(.*)$', to: 'https://$1'}", "http://h/a?b=c", 302, "https://h/a?b=c"],
    ["{from: '^http://(.*)$', to: 'https://$1'}", "https://h/a", undefined, undefined],
    ["{from: '/docs/([a-z]+)', to: '/guide/$1', status_code: 308}", "https://h/docs/intro", 308, "https://h/guide/intro"],
  ];
  it.each(cases)("%s on %s", async (config, url, status, location) => {
    const policy = policyOf(`on_http_request:\n  - actions: [{type: redirect, config: ${config}}]\n`);
    const out = await policy.onHttpRequest(request({ url }), rt);
    if (status === undefined) {
      expect(out.kind).toBe("continue");
      return;
    }
    expect(out).toMatchObject({ kind: "respond", status });
    if (out.kind === "respond") {
      expect(out.headers.get("location")).toEqual([location]);
      expect(out.code).toBeUndefined();
    }
  });
});

describe("url-rewrite", () => {
  const cases: Array<[string, string, string, string, string]> = [
    ["v0/user/([0-9]+)", "v1/user?id=$1", "https://h/v0/user/123", "/v1/user", "id=123"],
    ["^/api/(.*)$", "/\${req.method}/$1", "https://h/api/items?sort=asc", "/GET/items", "sort=asc"],
    ["v0/user/([0-9]+)", "v1/user?id=$1", "https://h/v2/user/123", "/v2/user/123", ""],
    ["\\\\?debug=1", "", "https://h/p?debug=1", "/p", ""],
    ["^/i/([0-9]+)$", "/items/${'${1}'}x", "https://h/i/42", "/items/42x", ""],
  ];
  it.each(cases)("%s → %s on %s", async (from, to, url, path, query) => {
    const policy = policyOf(`on_http_request:\n  - actions: [{type: url-rewrite, config: {from: ${JSON.stringify(from)}, to: ${JSON.stringify(to)}}}]\n`);
    const ctx = request({ url });
    expect((await policy.onHttpRequest(ctx, rt)).kind).toBe("continue");
    expect([ctx.request.path, ctx.request.rawQuery]).toEqual([path, query]);
  });

  it("without from, replaces the whole path and query with to", async () => {
    const policy = policyOf(`
on_http_request:
  - actions: [{type: url-rewrite, config: {to: "/v2\${req.url.path}?via=\${req.method}"}}]
`);
    const ctx = request({ url: "https://h/items/7?old=1" });
    expect((await policy.onHttpRequest(ctx, rt)).kind).toBe("continue");
    expect([ctx.request.path, ctx.request.rawQuery]).toEqual(["/v2/items/7", "via=GET"]);
    expect(ctx.actionResults.get("url_rewrite")).toEqual({ url: "https://h/v2/items/7?via=GET" });
  });

  it("lets later rules see the rewritten URL", async () => {
    const policy = policyOf(`
on_http_request:
  - actions: [{type: url-rewrite, config: {from: "^/old", to: "/new"}}]
  - expressions: ["req.url.path == '/new/x'"]
    actions: [{type: custom-response, config: {status_code: 200, body: "\${req.url}"}}]
`);
    expect(await policy.onHttpRequest(request({ url: "https://h/old/x" }), rt)).toMatchObject({ status: 200, body: "https://h/new/x" });
  });
});

describe("forward-internal", () => {
  it("returns the internal URL and halts by default", async () => {
    const policy = policyOf(`
on_http_request:
  - actions: [{type: forward-internal, config: {url: "https://\${req.url.path.split('/')[1]}.internal:8443"}}]
`);
    const out = await policy.onHttpRequest(request({ url: "https://h/billing/x" }), rt);
    expect(out).toMatchObject({ kind: "forward-internal", url: "https://billing.internal:8443", onError: "halt", resume: undefined });
  });

  it("resumes the chain after a failed forward with on_error: continue", async () => {
    const policy = policyOf(`
on_http_request:
  - actions:
      - type: forward-internal
        config: {url: "https://primary.internal", on_error: continue, binding: internal}
      - type: add-headers
        config: {headers: {x-fallback: "1"}}
  - actions: [{type: forward-internal, config: {url: "https://backup.internal"}}]
`);
    const ctx = request();
    const first = await policy.onHttpRequest(ctx, rt);
    expect(first).toMatchObject({ kind: "forward-internal", url: "https://primary.internal", binding: "internal", onError: "continue" });
    if (first.kind !== "forward-internal" || !first.resume) throw new Error("expected resume");
    const second = await first.resume();
    expect(second).toMatchObject({ kind: "forward-internal", url: "https://backup.internal" });
    expect(ctx.request.headers.get("x-fallback")).toEqual(["1"]);
  });

  it("takes http:// internal URLs as ngrok does, and refuses tcp:// and tls:// saying why", async () => {
    const policy = policyOf(`on_http_request:\n  - actions: [{type: forward-internal, config: {url: "http://api.internal"}}]\n`);
    expect(await policy.onHttpRequest(request(), rt)).toMatchObject({ kind: "forward-internal", url: "http://api.internal" });
    expect(errorsOf(`on_http_request:\n  - actions: [{type: forward-internal, config: {url: "tcp://db.internal:5432"}}]\n`)).toMatch(
      /config\.url: tcp:\/\/ internal endpoints are not supported yet/,
    );
  });

  it("fails the request when an interpolated URL is not internal", async () => {
    const policy = policyOf(`on_http_request:\n  - actions: [{type: forward-internal, config: {url: "\${getReqHeader('x-to')[0]}"}}]\n`);
    const out = await policy.onHttpRequest(request({ headers: { "x-to": "https://evil.example.com" } }), rt);
    expect(out).toMatchObject({ kind: "respond", status: 500 });
  });
});

describe("set-vars and log", () => {
  it("sets typed variables visible to later rules and to the response phase", async () => {
    const policy = policyOf(`
on_http_request:
  - actions:
      - type: set-vars
        config:
          vars:
            - is_admin: "\${req.headers['x-role'][0] == 'admin'}"
            - tier: gold
              limit: 10
            - label: "\${vars.tier}-\${string(vars.limit)}"
  - expressions: ["vars.is_admin && vars.limit == 10"]
    actions:
      - type: log
        config:
          metadata:
            message: "admin request to \${req.url.path}"
            tags: ["\${vars.label}", "static"]
            nested: {admin: "\${vars.is_admin}", n: 3}
on_http_response:
  - expressions: ["vars.is_admin"]
    actions: [{type: add-headers, config: {headers: {x-label: "\${vars.label}"}}}]
`);
    const ctx = request({ url: "https://h/admin", headers: { "x-role": "admin" } });
    const out = await policy.onHttpRequest(ctx, rt);
    expect(out.kind).toBe("continue");
    expect(out.logs).toEqual([
      {
        kind: "log",
        phase: "on_http_request",
        ruleIndex: 1,
        ruleName: undefined,
        metadata: { message: "admin request to /admin", tags: ["gold-10", "static"], nested: { admin: true, n: 3 } },
      },
    ]);
    const res = response();
    await policy.onHttpResponse(ctx, res, rt);
    expect(res.headers.get("x-label")).toEqual(["gold-10"]);
  });
});

describe("set-vars with vars as a map", () => {
  it("assigns in order, as the list form does", async () => {
    const policy = policyOf(`
on_http_request:
  - actions:
      - type: set-vars
        config:
          vars:
            tier: gold
            label: "\${vars.tier}-\${req.method}"
      - type: custom-response
        config: {body: "\${vars.label}"}
`);
    const out = await policy.onHttpRequest(request({ url: "https://h/" }), rt);
    expect(out).toMatchObject({ kind: "respond", status: 200, body: "gold-GET" });
  });

  it("refuses an empty map", () => {
    expect(() => policyOf(`
on_http_request:
  - actions: [{type: set-vars, config: {vars: {}}}]
`)).toThrow(/vars: must have at least 1 entry/);
  });
});

describe("on_tcp_connect", () => {
  it("closes denied clients, logs and allows the rest", () => {
    const policy = policyOf(`
on_tcp_connect:
  - actions:
      - type: restrict-ips
        config: {deny: ["198.51.100.0/24"]}
      - type: set-vars
        config: {vars: [{region: "\${conn.server_region}"}]}
      - type: log
        config: {metadata: {ip: "\${conn.client_ip}", region: "\${vars.region}"}}
`, { regionName: "eu-west" });
    expect(policy.onTcpConnect(tcp("198.51.100.9"), rt)).toEqual({ kind: "close", logs: [] });
    const ok = policy.onTcpConnect(tcp("192.0.2.1"), rt);
    expect(ok.kind).toBe("allow");
    expect(ok.logs[0]).toMatchObject({ metadata: { ip: "192.0.2.1", region: "eu-west" } });
  });
});
