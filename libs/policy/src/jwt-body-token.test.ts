import { SignJWT, exportJWK, generateKeyPair } from "jose";
import { describe, expect, it } from "vitest";
import type { RequestContext } from "./context.js";
import { fakeRuntime, policyOf, request, type RequestInit } from "./test-fixtures.js";

const ISSUER = "https://issuer.example.com/";

const policy = policyOf(`
on_http_request:
  - actions:
      - type: jwt-validation
        config:
          issuer: {allow_list: [{value: "${ISSUER}"}]}
          http:
            tokens: [{type: access_token, method: body, name: access_token}]
          jws:
            allowed_algorithms: [RS256]
            keys: {sources: {additional_jkus: ["${ISSUER}jwks.json"]}}
      - type: custom-response
        config: {status_code: 200, body: "\${actions.ngrok.jwt_validation.tokens[0].location}"}
`);

function withBody(init: RequestInit, body: string): RequestContext {
  const ctx = request(init);
  const bytes = new TextEncoder().encode(body);
  ctx.request.body = { read: async () => bytes, replace: () => undefined };
  return ctx;
}

describe("jwt-validation with method: body", () => {
  it("finds the token in a form or JSON body (RFC 6750 §2.2), and only in requests that carry one", async () => {
    const pair = await generateKeyPair("RS256");
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "RS256" };
    const rt = fakeRuntime(async () => ({ keys: [jwk] }));
    const nowSec = Math.floor(rt.now() / 1000);
    const token = await new SignJWT({ sub: "u" }).setProtectedHeader({ alg: "RS256", kid: "k1" }).setIssuer(ISSUER).setExpirationTime(nowSec + 60).sign(pair.privateKey);
    expect(policy.needsRequestBody).toBe(true);
    const form = { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" } };
    const json = { method: "PUT", headers: { "content-type": "application/json; charset=utf-8" } };
    const cases: Array<[string, RequestContext, number]> = [
      ["form", withBody(form, `a=1&access_token=${token}`), 200],
      ["json", withBody(json, JSON.stringify({ access_token: token })), 200],
      ["form without the field", withBody(form, "a=1"), 401],
      ["other content type", withBody({ method: "POST", headers: { "content-type": "text/plain" } }, `access_token=${token}`), 401],
      ["GET", withBody({ method: "GET", headers: form.headers }, `access_token=${token}`), 401],
      ["bad token", withBody(form, "access_token=x.y.z"), 401],
    ];
    for (const [name, ctx, status] of cases) {
      const out = await policy.onHttpRequest(ctx, rt);
      expect(out, name).toMatchObject({ kind: "respond", status });
      if (status === 200 && out.kind === "respond") expect(out.body).toBe("body");
    }
  });
});
