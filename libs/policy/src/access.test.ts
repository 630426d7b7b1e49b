import { describe, expect, it } from "vitest";
import { fakeRuntime, policyOf, request } from "./test-fixtures.js";

const rt = fakeRuntime();

describe("restrict-ips", () => {
  const policy = policyOf(`
on_http_request:
  - actions:
      - type: restrict-ips
        config:
          allow: ["10.0.0.0/8", "2001:db8::/32"]
          deny: ["10.66.0.0/16"]
`);
  it.each([
    ["10.1.2.3", "continue"],
    ["2001:db8::7", "continue"],
    ["::ffff:10.9.9.9", "continue"],
    ["10.66.1.1", "respond"],
    ["192.0.2.1", "respond"],
    ["garbage", "respond"],
  ])("%s → %s", async (ip, kind) => {
    const out = await policy.onHttpRequest(request({ clientIp: ip }), rt);
    expect(out.kind).toBe(kind);
    if (out.kind === "respond") expect(out).toMatchObject({ status: 403, code: "ACCESS_DENIED" });
  });

  it("publishes the matched CIDR", async () => {
    const p = policyOf(`
on_http_request:
  - actions: [{type: restrict-ips, config: {enforce: false, deny: ["192.0.2.0/24"]}}]
  - actions: [{type: custom-response, config: {status_code: 200, body: "\${actions.ngrok.restrict_ips.action} \${actions.ngrok.restrict_ips.matched_cidr}"}}]
`);
    expect(await p.onHttpRequest(request({ clientIp: "192.0.2.5" }), rt)).toMatchObject({ body: "deny 192.0.2.0/24" });
  });
});

describe("basic-auth", () => {
  const policy = policyOf(`
on_http_request:
  - actions:
      - type: basic-auth
        config:
          realm: staging
          credentials: ["alice:correct horse", "bob:battery staple"]
  - actions: [{type: custom-response, config: {status_code: 200, body: "hi \${actions.ngrok.basic_auth.credentials.username}"}}]
`);
  const basic = (s: string) => `Basic ${btoa(s)}`;
  it.each([
    [basic("alice:correct horse"), 200],
    [basic("bob:battery staple"), 200],
    [`basic ${btoa("bob:battery staple")}`, 200],
    [basic("alice:battery staple"), 401],
    [basic("alice:correct hors"), 401],
    [basic("mallory"), 401],
    ["Bearer abc", 401],
    ["Basic !!!", 401],
    [undefined, 401],
  ])("%s → %d", async (authorization, status) => {
    const out = await policy.onHttpRequest(request({ headers: authorization ? { authorization } : {} }), rt);
    expect(out).toMatchObject({ kind: "respond", status });
    if (out.kind === "respond" && status === 401) {
      expect(out.code).toBe("UNAUTHORIZED");
      expect(out.headers.get("www-authenticate")).toEqual(['Basic realm="staging", charset="UTF-8"']);
    }
  });

  it("greets by username", async () => {
    expect(await policy.onHttpRequest(request({ headers: { authorization: basic("alice:correct horse") } }), rt)).toMatchObject({ body: "hi alice" });
  });
});
