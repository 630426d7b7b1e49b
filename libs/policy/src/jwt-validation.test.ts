import { type CryptoKey, type JWK, SignJWT, UnsecuredJWT, exportJWK, generateKeyPair } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { errorsOf, fakeRuntime, policyOf, request } from "./test-fixtures.js";

const ISSUER = "https://issuer.example.com/";
const JWKS_URL = "https://issuer.example.com/.well-known/jwks.json";

const policySource = `
on_http_request:
  - actions:
      - type: jwt-validation
        config:
          issuer: {allow_list: [{value: "${ISSUER}"}]}
          audience: {allow_list: [{value: "api://onramp"}]}
          http:
            tokens: [{type: jwt, method: header, name: Authorization, prefix: "Bearer "}]
          jws:
            allowed_algorithms: [RS256, ES256]
            keys: {sources: {additional_jkus: ["${JWKS_URL}"]}}
  - actions:
      - type: custom-response
        config: {status_code: 200, body: "sub=\${actions.ngrok.jwt_validation.tokens[0].payload.sub}"}
`;

let rsa: { privateKey: CryptoKey; jwk: JWK };
let other: { privateKey: CryptoKey };

beforeAll(async () => {
  const pair = await generateKeyPair("RS256");
  rsa = { privateKey: pair.privateKey, jwk: { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "RS256", use: "sig" } };
  other = { privateKey: (await generateKeyPair("RS256")).privateKey };
});

function jwksServer(documents: () => unknown) {
  const calls: string[] = [];
  const fetchJson = async (url: string) => {
    calls.push(url);
    return documents();
  };
  return { calls, fetchJson };
}

async function token(rt: { now(): number }, opts: { key?: CryptoKey; kid?: string; iss?: string; aud?: string; exp?: number } = {}) {
  const nowSec = Math.floor(rt.now() / 1000);
  return new SignJWT({ sub: "user-1" })
    .setProtectedHeader({ alg: "RS256", kid: opts.kid ?? "k1" })
    .setIssuer(opts.iss ?? ISSUER)
    .setAudience(opts.aud ?? "api://onramp")
    .setIssuedAt(nowSec - 10)
    .setExpirationTime(opts.exp ?? nowSec + 300)
    .sign(opts.key ?? rsa.privateKey);
}

describe("jwt-validation", () => {
  it("validates tokens against a JWKS fetched through the runtime", async () => {
    const policy = policyOf(policySource);
    const server = jwksServer(() => ({ keys: [rsa.jwk] }));
    const rt = fakeRuntime(server.fetchJson);
    const nowSec = Math.floor(rt.now() / 1000);
    const cases: Array<[string, string | undefined, number, RegExp | undefined]> = [
      ["valid", `Bearer ${await token(rt)}`, 200, undefined],
      ["lowercase scheme", `bearer ${await token(rt)}`, 200, undefined],
      ["expired", `Bearer ${await token(rt, { exp: nowSec - 60 })}`, 401, /expired/],
      ["wrong issuer", `Bearer ${await token(rt, { iss: "https://evil.example.com/" })}`, 401, /iss claim/],
      ["wrong audience", `Bearer ${await token(rt, { aud: "api://other" })}`, 401, /aud claim/],
      ["wrong key", `Bearer ${await token(rt, { key: other.privateKey })}`, 401, /signature/],
      ["alg none", `Bearer ${new UnsecuredJWT({ sub: "x" }).setIssuer(ISSUER).setAudience("api://onramp").encode()}`, 401, /algorithm|malformed/],
      ["garbage", "Bearer not.a.jwt", 401, /malformed/],
      ["missing token", undefined, 401, undefined],
      ["wrong prefix", `Token ${await token(rt)}`, 401, undefined],
    ];
    for (const [name, authorization, status, challenge] of cases) {
      const out = await policy.onHttpRequest(request({ headers: authorization ? { authorization } : {} }), rt);
      expect(out, name).toMatchObject({ kind: "respond", status });
      if (out.kind !== "respond") continue;
      if (status === 200) expect(out.body, name).toBe("sub=user-1");
      else {
        expect(out.code, name).toBe("UNAUTHORIZED");
        const header = out.headers.get("www-authenticate")?.[0] ?? "";
        expect(header, name).toMatch(/^Bearer realm="onramp"/);
        if (challenge) expect(header, name).toMatch(challenge);
        else expect(header, name).not.toMatch(/error=/);
      }
    }
    // One fetch served every request.
    expect(server.calls).toEqual([JWKS_URL]);
  });

  it("refetches on an unknown kid (key rotation), rate-limited", async () => {
    const policy = policyOf(policySource);
    const rotated = await generateKeyPair("RS256");
    const rotatedJwk = { ...(await exportJWK(rotated.publicKey)), kid: "k2", alg: "RS256" };
    let published: JWK[] = [rsa.jwk];
    const server = jwksServer(() => ({ keys: published }));
    const rt = fakeRuntime(server.fetchJson);
    const send = async (kid: string, key: CryptoKey): Promise<number | undefined> => {
      const out = await policy.onHttpRequest(request({ headers: { authorization: `Bearer ${await token(rt, { kid, key })}` } }), rt);
      return out.kind === "respond" ? out.status : undefined;
    };

    expect(await send("k1", rsa.privateKey)).toBe(200);
    expect(server.calls).toHaveLength(1);
    published = [rsa.jwk, rotatedJwk];
    rt.clock.now += 60_000;
    expect(await send("k2", rotated.privateKey)).toBe(200);
    expect(server.calls).toHaveLength(2);
    // A stream of unknown kids does not turn into a stream of fetches.
    for (let i = 0; i < 5; i++) expect(await send(`bogus-${i}`, other.privateKey)).toBe(401);
    expect(server.calls).toHaveLength(2);
    rt.clock.now += 31_000;
    expect(await send("bogus-late", other.privateKey)).toBe(401);
    expect(server.calls).toHaveLength(3);
  });

  it("answers 503 when no signing keys can be fetched, without blaming the client", async () => {
    const policy = policyOf(policySource);
    const rt = fakeRuntime(() => Promise.reject(new Error("connection refused")));
    const out = await policy.onHttpRequest(request({ headers: { authorization: `Bearer ${await token(rt)}` } }), rt);
    expect(out).toMatchObject({ kind: "respond", status: 503, code: "JWKS_UNAVAILABLE" });
  });

  it("stops waiting for keys when the client goes away", async () => {
    const policy = policyOf(policySource);
    const rt = fakeRuntime(() => new Promise(() => {}));
    const controller = new AbortController();
    const pending = policy.onHttpRequest(request({ headers: { authorization: `Bearer ${await token(rt)}` } }), rt, controller.signal);
    controller.abort(new Error("client closed"));
    await expect(pending).rejects.toThrow("client closed");
  });

  it("rejects the none algorithm when the policy loads", () => {
    expect(errorsOf(policySource.replace("[RS256, ES256]", "[none]"))).toMatch(/allowed_algorithms\[0\]: "none" is not allowed/);
  });

  it("requires issuer, http.tokens and jws", () => {
    const text = errorsOf("on_http_request:\n  - actions: [{type: jwt-validation, config: {}}]\n");
    expect(text).toMatch(/config\.issuer: is required/);
    expect(text).toMatch(/config\.http: is required/);
    expect(text).toMatch(/config\.jws: is required/);
  });
});

describe("jwt-validation verification cache", () => {
  const call = async (policy: ReturnType<typeof policyOf>, rt: ReturnType<typeof fakeRuntime>, jwt: string) => {
    const out = await policy.onHttpRequest(request({ headers: { authorization: `Bearer ${jwt}` } }), rt);
    return out.kind === "respond" ? out.status : 0;
  };

  it("accepts a token it has verified again, and still refuses it once it expires", async () => {
    const policy = policyOf(policySource);
    const rt = fakeRuntime(jwksServer(() => ({ keys: [rsa.jwk] })).fetchJson);
    const jwt = await token(rt, { exp: Math.floor(rt.now() / 1000) + 60 });
    expect(await call(policy, rt, jwt)).toBe(200);
    expect(await call(policy, rt, jwt)).toBe(200);
    rt.clock.now += 61_000;
    expect(await call(policy, rt, jwt)).toBe(401);
  });

  it("gives each request of a run with the same token, and a token between, its own token's result", async () => {
    const policy = policyOf(policySource);
    const rt = fakeRuntime(jwksServer(() => ({ keys: [rsa.jwk] })).fetchJson);
    const body = async (jwt: string) => {
      const out = await policy.onHttpRequest(request({ headers: { authorization: `Bearer ${jwt}` } }), rt);
      return out.kind === "respond" ? String(out.body) : out.kind;
    };
    const alice = await token(rt);
    const bob = await new SignJWT({ sub: "user-2" }).setProtectedHeader({ alg: "RS256", kid: "k1" }).setIssuer(ISSUER).setAudience("api://onramp").setExpirationTime("5m").sign(rsa.privateKey);
    const subs = [];
    for (const jwt of [alice, alice, alice, bob, bob, alice, bob]) subs.push(await body(jwt));
    expect(subs).toEqual(["sub=user-1", "sub=user-1", "sub=user-1", "sub=user-2", "sub=user-2", "sub=user-1", "sub=user-2"]);
  });

  it("runHttpRequest answers without a promise once the token is verified; with one while keys are fetched", async () => {
    const policy = policyOf(`${policySource}
on_http_response:
  - actions: [{type: add-headers, config: {headers: {x-served-by: onramp}}}]
`);
    const rt = fakeRuntime(jwksServer(() => ({ keys: [rsa.jwk] })).fetchJson);
    const jwt = await token(rt);
    const ctx = () => request({ headers: { authorization: `Bearer ${jwt}` } });
    const first = policy.runHttpRequest(ctx(), rt);
    expect(first).toBeInstanceOf(Promise);
    expect(await first).toMatchObject({ kind: "respond", status: 200 });
    // The first verification predates the keys' fetch (a new key generation): the next one is cached for good.
    expect(await policy.runHttpRequest(ctx(), rt)).toMatchObject({ kind: "respond", status: 200 });
    const again = policy.runHttpRequest(ctx(), rt);
    expect(again).not.toBeInstanceOf(Promise);
    expect(again).toMatchObject({ kind: "respond", status: 200, body: "sub=user-1", logs: [], circuitBreakers: [] });
    const res = { statusCode: 200, headers: new Map<string, string[]>() };
    expect(policy.runHttpResponse(ctx(), res, rt)).toEqual({ kind: "continue", compress: undefined, logs: [] });
    expect(res.headers.get("x-served-by")).toEqual(["onramp"]);
    expect(policy.onHttpResponse(ctx(), res, rt)).toBeInstanceOf(Promise);
  });

  it("stops trusting a cached token once its key is rotated out of the JWKS", async () => {
    const policy = policyOf(policySource);
    let keys: JWK[] = [rsa.jwk];
    const rt = fakeRuntime(jwksServer(() => ({ keys })).fetchJson);
    const old = await token(rt, { exp: Math.floor(rt.now() / 1000) + 3600 });
    expect(await call(policy, rt, old)).toBe(200);
    // The provider replaces k1 with k2. A token with the new kid forces a refetch (well inside the
    // cache's 5-minute TTL); from then on the cached verification of the k1 token is void.
    const rotated = await generateKeyPair("RS256");
    keys = [{ ...(await exportJWK(rotated.publicKey)), kid: "k2", alg: "RS256" }];
    rt.clock.now += 31_000;
    expect(await call(policy, rt, await token(rt, { kid: "k2", key: rotated.privateKey }))).toBe(200);
    expect(await call(policy, rt, old)).toBe(401);
  });
});

describe("jwt-validation: interpolated fields and key identification", () => {
  const tenantPolicy = `
on_http_request:
  - actions:
      - type: set-vars
        config: {vars: [{tenant: "\${getReqHeader('x-tenant')[0]}"}]}
      - type: jwt-validation
        config:
          issuer: {allow_list: [{value: "https://\${vars.tenant}.example.com/"}]}
          http:
            tokens: [{type: jwt, method: header, name: "x-\${vars.tenant}-token", prefix: "\${'Bearer '}"}]
          jws:
            allowed_algorithms: [RS256]
            keys:
              identification: [{token_claims: [kid]}]
              sources: {additional_jkus: ["https://\${vars.tenant}.example.com/jwks.json"]}
`;

  it("evaluates issuer, token name and prefix, and JKUs per request, each JKU set with its own cache", async () => {
    const policy = policyOf(tenantPolicy);
    const server = jwksServer(() => ({ keys: [rsa.jwk] }));
    const rt = fakeRuntime(server.fetchJson);
    const acme = await token(rt, { iss: "https://acme.example.com/" });
    const send = async (tenant: string, jwt: string) => {
      const out = await policy.onHttpRequest(request({ headers: { "x-tenant": tenant, [`x-${tenant}-token`]: `Bearer ${jwt}` } }), rt);
      return out.kind === "respond" ? out.status : out.kind;
    };
    expect(await send("acme", acme)).toBe("continue");
    expect(await send("acme", acme)).toBe("continue");
    // Verified for acme's issuer, the same token is no good where another issuer is expected.
    expect(await send("globex", acme)).toBe(401);
    expect(await send("globex", await token(rt, { iss: "https://globex.example.com/" }))).toBe("continue");
    expect(server.calls).toEqual(["https://acme.example.com/jwks.json", "https://globex.example.com/jwks.json"]);
  });

  it("fails the request when an interpolated JKU is not an http(s) URL", async () => {
    const policy = policyOf(tenantPolicy.replace("https://${vars.tenant}.example.com/jwks.json", "${vars.tenant}"));
    const rt = fakeRuntime(jwksServer(() => ({ keys: [rsa.jwk] })).fetchJson);
    const out = await policy.onHttpRequest(request({ headers: { "x-tenant": "file:///etc/passwd" } }), rt);
    expect(out).toMatchObject({ kind: "respond", status: 500 });
    expect(out.logs[0]).toMatchObject({ message: expect.stringMatching(/additional_jkus produced "file:\/\/\/etc\/passwd", which is not an http\(s\) URL/) });
  });

  it("checks jws.keys.identification", () => {
    expect(errorsOf(tenantPolicy.replace("token_claims: [kid]", "token_claims: [x5t]"))).toMatch(
      /jws\.keys\.identification\[0\]\.token_claims\[0\]: unsupported claim "x5t" \(supported: "kid"\)/,
    );
    expect(errorsOf(tenantPolicy.replace("token_claims: [kid]", "claims: [kid]"))).toMatch(/identification\[0\]\.claims: unknown field/);
  });
});
