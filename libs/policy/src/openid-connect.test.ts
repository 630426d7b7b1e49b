import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CookieJar, TEST_USER, type TestOidcProvider, startTestOidcProvider } from "./oidc-test-provider.js";
import type { RequestOutcome } from "./outcome.js";
import type { Policy } from "./policy.js";
import type { PolicyRuntime } from "./runtime.js";
import { errorsOf, fakeRuntime, policyOf, request } from "./test-fixtures.js";

/**
 * `openid-connect` against a real OpenID provider on loopback: the policy plays the endpoint, a
 * cookie-keeping loop plays the browser, following redirects between the two by hand.
 */

const APP = "http://app.test";
let idp: TestOidcProvider;
let clock = 0;
let rt: PolicyRuntime;

beforeAll(async () => {
  idp = await startTestOidcProvider([`${APP}/ngrok/callback`]);
  rt = { ...fakeRuntime(), now: () => Date.now() + clock, auth: { fetch: (url, init) => fetch(url, init), sessionSecret: "a-session-secret-for-tests" } };
});

afterAll(async () => {
  await idp?.close();
});

function oidcPolicy(extra = ""): Policy {
  return policyOf(`
on_http_request:
  - actions:
      - type: openid-connect
        config:
          issuer_url: ${idp.issuer}
          client_id: ${idp.clientId}
          client_secret: ${idp.clientSecret}
          scopes: [openid, profile, email]
${extra}
      - type: add-headers
        config:
          headers:
            x-user: "\${actions.ngrok.oidc.identity.email}|\${actions.ngrok.oidc.identity.name}|\${actions.ngrok.oidc.identity.provider_user_id}"
`);
}

interface Visit {
  /** The request the policy let through, if it did. */
  forwarded: Map<string, string[]> | undefined;
  /** Every URL the browser went to, in order. */
  trail: string[];
  last: RequestOutcome | undefined;
}

/** Follows redirects from `url` until the policy lets a request through or answers without a redirect. */
async function browse(policy: Policy, jar: CookieJar, url: string, method = "GET"): Promise<Visit> {
  const trail: string[] = [];
  let next = url;
  for (let hop = 0; hop < 20; hop++) {
    trail.push(next);
    const u = new URL(next);
    const cookie = jar.header(u.host);
    if (u.origin === APP) {
      const ctx = request({ method, url: next, headers: cookie ? { cookie } : {} });
      const out = await policy.onHttpRequest(ctx, rt);
      if (out.kind !== "respond") return { forwarded: ctx.request.headers, trail, last: out };
      jar.store(u.host, out.headers.get("set-cookie") ?? []);
      const location = out.headers.get("location")?.[0];
      if (!location) return { forwarded: undefined, trail, last: out };
      next = new URL(location, next).href;
      continue;
    }
    const res = await fetch(next, { redirect: "manual", headers: cookie ? { cookie } : {} });
    jar.store(u.host, res.headers.getSetCookie());
    await res.arrayBuffer();
    const location = res.headers.get("location");
    if (!location) throw new Error(`the provider answered ${res.status} without a redirect at ${next}`);
    next = new URL(location, next).href;
  }
  throw new Error(`too many redirects: ${trail.join(" → ")}`);
}

describe("openid-connect with a real OpenID provider", () => {
  it("sends a user without a session to the provider and back, then lets the request through with the identity", async () => {
    const policy = oidcPolicy();
    const jar = new CookieJar();
    const visit = await browse(policy, jar, `${APP}/reports?year=2026`);
    expect(visit.forwarded?.get("x-user")).toEqual([`${TEST_USER.email}|${TEST_USER.name}|${TEST_USER.sub}`]);
    expect(visit.trail[1]).toMatch(new RegExp(`^${idp.issuer}/auth\\?`));
    const auth = new URL(visit.trail[1]!);
    expect(auth.searchParams.get("code_challenge_method")).toBe("S256");
    expect(auth.searchParams.get("redirect_uri")).toBe(`${APP}/ngrok/callback`);
    expect(visit.trail.at(-1)).toBe(`${APP}/reports?year=2026`);
    // The session cookie alone now lets requests through, without the provider.
    const again = await browse(policy, jar, `${APP}/other`);
    expect(again.trail).toEqual([`${APP}/other`]);
    expect(again.forwarded?.get("x-user")).toEqual([`${TEST_USER.email}|${TEST_USER.name}|${TEST_USER.sub}`]);
  });

  it("restarts the login when the session cookie was tampered with", async () => {
    const policy = oidcPolicy();
    const jar = new CookieJar();
    await browse(policy, jar, `${APP}/`);
    const sealed = jar.get("app.test", "onramp_auth_oidc")!;
    const flipped = sealed.slice(0, -6) + (sealed.at(-6) === "A" ? "B" : "A") + sealed.slice(-5);
    jar.set("app.test", "onramp_auth_oidc", flipped);
    const ctx = request({ url: `${APP}/`, headers: { cookie: jar.header("app.test")! } });
    const out = await policy.onHttpRequest(ctx, rt);
    expect(out).toMatchObject({ kind: "respond", status: 302 });
    if (out.kind === "respond") expect(out.headers.get("location")?.[0]).toMatch(new RegExp(`^${idp.issuer}/auth\\?`));
  });

  it("logs out at /ngrok/logout and sends the next request to the provider again", async () => {
    const policy = oidcPolicy();
    const jar = new CookieJar();
    await browse(policy, jar, `${APP}/`);
    const out = await browse(policy, jar, `${APP}/ngrok/logout?redirect_path=/bye`);
    expect(out.trail[1]).toBe(`${APP}/bye`);
    expect(out.trail[2]).toMatch(new RegExp(`^${idp.issuer}/auth\\?`)); // logged in again on the way to /bye
    const plain = await policy.onHttpRequest(request({ url: `${APP}/ngrok/logout` }), rt);
    expect(plain).toMatchObject({ kind: "respond", status: 200 });
    if (plain.kind === "respond") expect(plain.headers.get("set-cookie")?.[0]).toMatch(/^onramp_auth_oidc=; .*Max-Age=0/);
  });

  it("ends a session left idle for idle_session_duration, and any session after max_session_duration", async () => {
    const idle = oidcPolicy("          idle_session_duration: 30m");
    const capped = oidcPolicy("          max_session_duration: 2h");
    const jar = new CookieJar();
    const results = async (policy: Policy) => {
      const ctx = request({ url: `${APP}/page`, headers: { cookie: jar.header("app.test")! } });
      const out = await policy.onHttpRequest(ctx, rt);
      return { status: out.kind === "respond" ? out.status : 0, result: ctx.actionResults.get("oidc") };
    };
    try {
      clock = 0;
      await browse(idle, jar, `${APP}/`);
      clock = 10 * 60_000; // active after 10 min (more than a quarter of 30m): activity stored by a 307 to the same URL
      expect((await browse(idle, jar, `${APP}/page`)).trail).toEqual([`${APP}/page`, `${APP}/page`]);
      clock = 35 * 60_000; // 25 min after that: still inside the idle window
      expect((await browse(idle, jar, `${APP}/page`)).forwarded).toBeDefined();
      clock = 70 * 60_000; // 35 min without a request
      expect(await results(idle)).toMatchObject({ status: 302, result: { session_timed_out: true, session_max_duration_reached: false } });

      clock = 0;
      await browse(capped, jar, `${APP}/`);
      clock = 2 * 3600_000 + 60_000;
      expect(await results(capped)).toMatchObject({ status: 302, result: { session_timed_out: false, session_max_duration_reached: true } });
    } finally {
      clock = 0;
    }
  });

  it("starts a fresh login at /ngrok/login, making the provider ask for credentials again", async () => {
    const policy = oidcPolicy();
    const jar = new CookieJar();
    await browse(policy, jar, `${APP}/`);
    const before = idp.logins();
    const visit = await browse(policy, jar, `${APP}/ngrok/login?redirect_path=/welcome`);
    expect(new URL(visit.trail[1]!).searchParams.get("prompt")).toBe("login");
    expect(idp.logins()).toBe(before + 1);
    expect(visit.trail.at(-1)).toBe(`${APP}/welcome`);
    expect(visit.forwarded?.get("x-user")).toEqual([`${TEST_USER.email}|${TEST_USER.name}|${TEST_USER.sub}`]);
  });

  it("refuses a callback whose state does not match the login cookie", async () => {
    const policy = oidcPolicy();
    const out = await policy.onHttpRequest(request({ url: `${APP}/ngrok/callback?code=x&state=oidc.forged` }), rt);
    expect(out).toMatchObject({ kind: "respond", status: 401, code: "UNAUTHORIZED" });
  });

  it("answers 503 when the provider cannot be reached, and 503 on an edge without a session secret", async () => {
    const down = policyOf(`
on_http_request:
  - actions:
      - type: openid-connect
        config: { issuer_url: "http://127.0.0.1:9", client_id: x, client_secret: y }
`);
    const out = await down.onHttpRequest(request({ url: `${APP}/` }), rt);
    expect(out).toMatchObject({ kind: "respond", status: 503, code: "IDENTITY_PROVIDER_UNAVAILABLE" });
    const noSecret = await oidcPolicy().onHttpRequest(request({ url: `${APP}/` }), fakeRuntime());
    expect(noSecret).toMatchObject({ kind: "respond", status: 503, code: "IDENTITY_PROVIDER_UNAVAILABLE" });
  });
});

describe("oauth with the provider's endpoints overridden", () => {
  it("logs in with the authorization code flow and reads the user from the provider's user API", async () => {
    const policy = policyOf(`
on_http_request:
  - actions:
      - type: oauth
        config:
          provider: google
          client_id: ${idp.clientId}
          client_secret: ${idp.clientSecret}
          authorization_endpoint: ${idp.issuer}/auth
          token_endpoint: ${idp.issuer}/token
          userinfo_endpoint: ${idp.issuer}/me
      - type: add-headers
        config:
          headers:
            x-user: "\${actions.ngrok.oauth.identity.email}|\${actions.ngrok.oauth.identity.provider_user_id}|\${string(size(actions.ngrok.oauth.access_token) > 0)}"
`);
    const jar = new CookieJar();
    const visit = await browse(policy, jar, `${APP}/dashboard`);
    expect(visit.forwarded?.get("x-user")).toEqual([`${TEST_USER.email}|${TEST_USER.sub}|true`]);
    expect(new URL(visit.trail[1]!).searchParams.get("scope")).toBe("openid email profile");
    expect(jar.get("app.test", "onramp_auth_google")).toBeDefined();
  });

  it("finds a GitHub user's private email through /user/emails", async () => {
    const seen: string[] = [];
    const github = createServer((req, res) => {
      seen.push(`${req.url} ${req.headers.authorization?.startsWith("Bearer ") ? "bearer" : "none"} ${req.headers["user-agent"]}`);
      res.setHeader("content-type", "application/json");
      if (req.url === "/api/v3/user") res.end(JSON.stringify({ id: 583231, login: "octocat", name: null, email: null }));
      else res.end(JSON.stringify([{ email: "old@example.com", primary: false, verified: true }, { email: "octo@example.com", primary: true, verified: true }]));
    });
    await new Promise<void>((r) => github.listen(0, "127.0.0.1", r));
    try {
      const api = `http://127.0.0.1:${(github.address() as AddressInfo).port}/api/v3/user`;
      const policy = policyOf(`
on_http_request:
  - actions:
      - type: oauth
        config:
          provider: github
          client_id: ${idp.clientId}
          client_secret: ${idp.clientSecret}
          scopes: [openid]
          authorization_endpoint: ${idp.issuer}/auth
          token_endpoint: ${idp.issuer}/token
          userinfo_endpoint: ${api}
      - type: add-headers
        config:
          headers:
            x-user: "\${actions.ngrok.oauth.identity.name} <\${actions.ngrok.oauth.identity.email}> \${actions.ngrok.oauth.identity.provider_user_id}"
`);
      const visit = await browse(policy, new CookieJar(), `${APP}/`);
      expect(visit.forwarded?.get("x-user")).toEqual(["octocat <octo@example.com> 583231"]);
      expect(seen).toEqual(["/api/v3/user bearer onramp", "/api/v3/user/emails bearer onramp"]);
    } finally {
      github.closeAllConnections();
      await new Promise((r) => github.close(r));
    }
  });
});

describe("openid-connect and oauth configuration errors", () => {
  it("names the field", () => {
    expect(errorsOf("on_http_request:\n  - actions:\n      - type: openid-connect\n        config: { issuer_url: 'http://idp.example.com', client_id: x, idle_session_timeout: 1m, idle_session_duration: 2m }")).toMatchInlineSnapshot(`
      "policy.yml:4:31: on_http_request[0]: actions[0].config.issuer_url: must be an https URL (plain http only on localhost), got "http://idp.example.com"
      policy.yml:4:17: on_http_request[0]: actions[0].config.idle_session_duration: give idle_session_timeout or idle_session_duration, not both"
    `);
    expect(errorsOf("on_http_request:\n  - actions:\n      - type: oauth\n        config: { provider: myspace, auth_id: 'a b' }")).toMatchInlineSnapshot(`
      "policy.yml:4:29: on_http_request[0]: actions[0].config.provider: must be one of "amazon", "facebook", "github", "gitlab", "google", "linkedin", "microsoft", "twitch", got "myspace"
      policy.yml:4:17: on_http_request[0]: actions[0].config.client_id: is required: Onramp has no managed OAuth apps, register your own with the provider (redirect URI: <endpoint URL>/ngrok/callback)
      policy.yml:4:17: on_http_request[0]: actions[0].config.client_secret: is required: Onramp has no managed OAuth apps, register your own with the provider (redirect URI: <endpoint URL>/ngrok/callback)
      policy.yml:4:47: on_http_request[0]: actions[0].config.auth_id: must be 1 to 64 letters, digits, '_' or '-' (it names a cookie)"
    `);
  });
});
