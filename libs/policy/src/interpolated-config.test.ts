import { describe, expect, it } from "vitest";
import { errorsOf, fakeRuntime, policyOf, request, tcp } from "./test-fixtures.js";

/** `${…}` in fields that ngrok interpolates: compiled at load, evaluated per request. */
const rt = fakeRuntime();

describe("interpolated regular expressions", () => {
  it("redirect.from is interpolated before it is compiled", async () => {
    const policy = policyOf(`
on_http_request:
  - actions:
      - type: redirect
        config: {from: "^https://\${req.host}/old/(.*)$", to: "https://new.example.com/$1", status_code: 301}
`);
    const out = await policy.onHttpRequest(request({ url: "https://shop.example.com/old/cart?x=1" }), rt);
    expect(out).toMatchObject({ kind: "respond", status: 301 });
    if (out.kind === "respond") expect(out.headers.get("location")).toEqual(["https://new.example.com/cart?x=1"]);
    expect((await policy.onHttpRequest(request({ url: "https://shop.example.com/new/cart" }), rt)).kind).toBe("continue");
  });

  it("url-rewrite.from is interpolated, per request", async () => {
    const policy = policyOf(`
on_http_request:
  - actions:
      - type: set-vars
        config: {vars: [{prefix: "\${getReqHeader('x-prefix')[0]}"}]}
      - type: url-rewrite
        config: {from: "^/\${vars.prefix}/(.*)$", to: "/$1"}
`);
    for (const prefix of ["a", "b"]) {
      const ctx = request({ url: `https://h/${prefix}/items`, headers: { "x-prefix": prefix } });
      await policy.onHttpRequest(ctx, rt);
      expect(ctx.request.path).toBe("/items");
    }
  });

  it("an interpolated pattern that is not RE2 fails the request with a log record", async () => {
    const policy = policyOf(`on_http_request:\n  - actions: [{type: url-rewrite, config: {from: "\${getReqHeader('x-p')[0]}", to: /x}}]\n`);
    const out = await policy.onHttpRequest(request({ headers: { "x-p": "(unclosed" } }), rt);
    expect(out).toMatchObject({ kind: "respond", status: 500, code: "INTERNAL" });
    expect(out.logs[0]).toMatchObject({ kind: "evaluation-error", message: expect.stringMatching(/produced "\(unclosed": invalid RE2/) });
  });

  it("reports a broken interpolation in from when the policy loads", () => {
    expect(errorsOf(`on_http_request:\n  - actions: [{type: redirect, config: {from: "^\${req.nope}", to: /x}}]\n`)).toMatch(/config\.from: /);
  });
});

describe("interpolated restrict-ips lists", () => {
  // Loaded in each test, so that a policy this form breaks fails the tests, not the file.
  const policy = () => policyOf(`
on_http_request:
  - actions:
      - type: set-vars
        config:
          vars:
            - office: ["10.0.0.0/8", "192.0.2.0/24"]
      - type: restrict-ips
        config:
          allow: ["\${vars.office}", "\${getReqHeader('x-extra')[0]}"]
          deny: ["\${getReqHeader('x-block')[0]}"]
`);
  const send = async (clientIp: string, headers: Record<string, string>) =>
    (await policy().onHttpRequest(request({ clientIp, headers: { "x-extra": "198.51.100.1", "x-block": "none", ...headers } }), rt)).kind;

  it("allows a client in a list a variable holds, or in a CIDR a header names", async () => {
    expect(await send("10.1.2.3", {})).toBe("continue");
    expect(await send("192.0.2.9", {})).toBe("continue");
    expect(await send("198.51.100.1", {})).toBe("continue");
    expect(await send("203.0.113.7", {})).toBe("respond");
  });

  it("denies by an interpolated CIDR", async () => {
    expect(await send("10.1.2.3", { "x-block": "10.1.0.0/16" })).toBe("respond");
  });

  it("treats text that is not a CIDR as no match, not as an error", async () => {
    // An invalid deny entry matches nobody; an invalid allow entry admits nobody extra.
    expect(await send("10.1.2.3", { "x-block": "10.1.0.0/99" })).toBe("continue");
    const out = await policy().onHttpRequest(request({ clientIp: "203.0.113.7", headers: { "x-extra": "not-an-ip", "x-block": "none" } }), rt);
    expect(out).toMatchObject({ kind: "respond", status: 403, code: "ACCESS_DENIED" });
  });

  it("works in on_tcp_connect", () => {
    const p = policyOf(`on_tcp_connect:\n  - actions: [{type: restrict-ips, config: {deny: ["\${conn.client_ip}/32"]}}]\n`);
    expect(p.onTcpConnect(tcp("192.0.2.1"), rt).kind).toBe("close");
  });

  it("still rejects a literal bad CIDR when the policy loads", () => {
    expect(errorsOf(`on_http_request:\n  - actions: [{type: restrict-ips, config: {allow: ["\${conn.client_ip}", "10.0.0.0/33"]}}]\n`)).toMatch(
      /allow\[1\]: "10\.0\.0\.0\/33" is not a valid IPv4 or IPv6 CIDR/,
    );
  });
});

describe("interpolated basic-auth credentials", () => {
  const basic = (user: string, pass: string) => ({ authorization: `Basic ${btoa(`${user}:${pass}`)}` });
  const policy = () => policyOf(`
on_http_request:
  - actions:
      - type: set-vars
        config: {vars: [{pw: "s3cret-\${getReqHeader('x-tenant')[0]}"}, {whole: "ops:rotate-me"}]}
      - type: basic-auth
        config:
          credentials:
            - "admin:\${vars.pw}"
            - "\${getReqHeader('x-tenant')[0]}-user:fixed-password"
            - "\${vars.whole}"
`);
  const status = async (headers: Record<string, string>) => {
    const out = await policy().onHttpRequest(request({ headers: { "x-tenant": "acme", ...headers } }), rt);
    return out.kind === "respond" ? out.status : 0;
  };

  it("accepts credentials built per request", async () => {
    expect(await status(basic("admin", "s3cret-acme"))).toBe(0);
    expect(await status(basic("acme-user", "fixed-password"))).toBe(0);
    expect(await status(basic("ops", "rotate-me"))).toBe(0);
    expect(await status(basic("admin", "s3cret-other"))).toBe(401);
  });

  it("lets no one in on an entry that interpolates to an unusable credential", async () => {
    const p = policyOf(`
on_http_request:
  - actions:
      - type: basic-auth
        config: {credentials: ["\${getReqHeader('x-cred')[0]}", "u:\${getReqHeader('x-pw')[0]}"]}
`);
    // No colon in the first entry, an empty password in the second: neither matches, and neither is a 500.
    const out = await p.onHttpRequest(request({ headers: { "x-cred": "nocolon", "x-pw": "", ...basic("u", "") } }), rt);
    expect(out).toMatchObject({ kind: "respond", status: 401, code: "UNAUTHORIZED" });
  });

  it("requires a literal colon unless one interpolation is the whole entry", () => {
    expect(errorsOf(`on_http_request:\n  - actions: [{type: basic-auth, config: {credentials: ["\${conn.client_ip}password"]}}]\n`)).toMatch(
      /credentials\[0\]: must be "username:password" with the ":" written out/,
    );
    expect(errorsOf(`on_http_request:\n  - actions: [{type: basic-auth, config: {credentials: ["admin:\${req.nope}"]}}]\n`)).toMatch(/credentials\[0\]: /);
  });
});
