import { createHash, createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import type { RequestContext } from "./context.js";
import { errorsOf, fakeRuntime, policyOf, request, type RequestInit } from "./test-fixtures.js";

/** A request whose body the engine can read, as the edge offers it. */
function withBody(init: RequestInit, body: string): RequestContext {
  const ctx = request({ method: "POST", ...init });
  let bytes: Uint8Array = new TextEncoder().encode(body);
  ctx.request.body = { read: async () => bytes, replace: (b) => (bytes = b) };
  return ctx;
}

const policy = (provider: string, secret: string, enforce = true) =>
  policyOf(`
on_http_request:
  - actions:
      - type: verify-webhook
        config: {provider: ${provider}, secret: ${JSON.stringify(secret)}, enforce: ${enforce}}
      - type: custom-response
        config:
          status_code: 200
          body: "\${string(actions.ngrok.verify_webhook.verified)} \${actions.ngrok.verify_webhook.verified ? '' : actions.ngrok.verify_webhook.error.code}"
`);

const hmac = (alg: string, key: string | Buffer, data: string, enc: "hex" | "base64") => createHmac(alg, key).update(data).digest(enc);

/** Runs one signed request through `provider`, at `nowSec`; returns status and body. */
async function verify(provider: string, secret: string, init: RequestInit, body: string, nowSec: number, enforce = true) {
  const rt = fakeRuntime();
  rt.clock.now = nowSec * 1000;
  const out = await policy(provider, secret, enforce).onHttpRequest(withBody(init, body), rt);
  if (out.kind !== "respond") throw new Error(`expected a response, got ${out.kind}`);
  return { status: out.status, body: out.body, code: out.code };
}

describe("verify-webhook, with the providers' own published examples", () => {
  it("GitHub: X-Hub-Signature-256 (docs.github.com example)", async () => {
    const headers = { "x-hub-signature-256": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17" };
    expect(await verify("github", "It's a Secret to Everybody", { headers }, "Hello, World!", 1_700_000_000)).toMatchObject({ status: 200, body: "true " });
    const forged = await verify("github", "It's a Secret to Everybody", { headers }, "Hello, World?", 1_700_000_000);
    expect(forged).toMatchObject({ status: 403, code: "WEBHOOK_VERIFICATION_FAILED" });
    expect(forged.body).toMatch(/x-hub-signature-256 signature does not match/);
    expect(await verify("github", "It's a Secret to Everybody", {}, "Hello, World!", 1_700_000_000)).toMatchObject({ status: 403 });
  });

  it("Slack: v0 signature over the timestamp and body (api.slack.com example)", async () => {
    const body =
      "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
    const headers = { "x-slack-request-timestamp": "1531420618", "x-slack-signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503" };
    const secret = "8f742231b10e8888abcd99yyyzzz85a5";
    expect(await verify("slack", secret, { headers }, body, 1531420618 + 10)).toMatchObject({ status: 200 });
    expect(await verify("slack", secret, { headers }, body, 1531420618 + 3600, false)).toMatchObject({ status: 200, body: "false timestamp_out_of_tolerance" });
  });

  it("Twilio: HMAC-SHA1 over the URL and sorted form parameters (twilio.com example)", async () => {
    const params = new URLSearchParams({ CallSid: "CA1234567890ABCDE", Caller: "+12349013030", Digits: "1234", From: "+12349013030", To: "+18005551212" });
    const init = {
      url: "https://mycompany.com/myapp.php?foo=1&bar=2",
      headers: { "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": "0/KCTR6DLpKmkAf8muzZqo1nDgQ=" },
    };
    expect(await verify("twilio", "12345", init, params.toString(), 1_700_000_000)).toMatchObject({ status: 200 });
    params.set("Digits", "9999");
    expect(await verify("twilio", "12345", init, params.toString(), 1_700_000_000)).toMatchObject({ status: 403 });
  });

  it("Twilio: a JSON body pinned by the URL's bodySHA256", async () => {
    const body = '{"a":1}';
    const hash = createHash("sha256").update(body).digest("hex");
    const url = `https://mycompany.com/hook?bodySHA256=${hash}`;
    const init = { url, headers: { "content-type": "application/json", "x-twilio-signature": hmac("sha1", "tok", url, "base64") } };
    expect(await verify("twilio", "tok", init, body, 1_700_000_000)).toMatchObject({ status: 200 });
    expect(await verify("twilio", "tok", init, '{"a":2}', 1_700_000_000, false)).toMatchObject({ body: "false invalid_body_hash" });
  });

  it("Standard Webhooks / Svix: whsec_ secret, id.timestamp.body (the spec's test vector)", async () => {
    const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const body = '{"test": 2432232314}';
    const sig = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    const std = { headers: { "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-timestamp": "1614265330", "webhook-signature": `v1,bm90IGl0 ${sig}` } };
    expect(await verify("standard_webhooks", secret, std, body, 1614265330)).toMatchObject({ status: 200 });
    expect(await verify("svix", secret, std, body, 1614265330)).toMatchObject({ status: 200 });
    const svix = { headers: { "svix-id": "msg_p5jXN8AQM9LWM0D4loKWxJek", "svix-timestamp": "1614265330", "svix-signature": sig } };
    expect(await verify("svix", secret, svix, body, 1614265330 + 60)).toMatchObject({ status: 200 });
    expect(await verify("clerk", secret, svix, body, 1614265330 + 600, false)).toMatchObject({ body: "false timestamp_out_of_tolerance" });
    expect(await verify("svix", secret, svix, '{"test": 1}', 1614265330)).toMatchObject({ status: 403 });
  });
});

describe("verify-webhook, with signatures computed here", () => {
  const now = 1_750_000_000;
  const body = '{"id":"evt_1","object":"event"}';

  it("Stripe: t=…,v1=… with a five-minute tolerance and several v1 signatures", async () => {
    const secret = "whsec_test_stripe";
    const v1 = hmac("sha256", secret, `${now}.${body}`, "hex");
    const header = (t: number, sig: string) => ({ headers: { "stripe-signature": `t=${t},v1=${"0".repeat(64)},v1=${sig},v0=abc` } });
    expect(await verify("stripe", secret, header(now, v1), body, now + 299)).toMatchObject({ status: 200 });
    expect(await verify("stripe", secret, header(now, v1), body, now + 301, false)).toMatchObject({ body: "false timestamp_out_of_tolerance" });
    expect(await verify("stripe", "whsec_other", header(now, v1), body, now, false)).toMatchObject({ body: "false invalid_signature" });
    expect(await verify("stripe", secret, {}, body, now, false)).toMatchObject({ body: "false missing_signature" });
  });

  it("Shopify: base64 HMAC-SHA256 of the body", async () => {
    const headers = { "x-shopify-hmac-sha256": hmac("sha256", "shpss", body, "base64") };
    expect(await verify("shopify", "shpss", { headers }, body, now)).toMatchObject({ status: 200 });
    expect(await verify("shopify", "other", { headers }, body, now)).toMatchObject({ status: 403 });
  });

  it("the other providers that are variants of the same schemes", async () => {
    const s = "s3cret";
    const cases: Array<[string, Record<string, string>]> = [
      ["gitlab", { "x-gitlab-token": s }],
      ["bitbucket", { "x-hub-signature": `sha256=${hmac("sha256", s, body, "hex")}` }],
      ["intercom", { "x-hub-signature": `sha1=${hmac("sha1", s, body, "hex")}` }],
      ["github", { "x-hub-signature": `sha1=${hmac("sha1", s, body, "hex")}` }],
      ["linear", { "linear-signature": hmac("sha256", s, body, "hex") }],
      ["sentry", { "sentry-hook-signature": hmac("sha256", s, body, "hex") }],
      ["typeform", { "typeform-signature": `sha256=${hmac("sha256", s, body, "base64")}` }],
      ["calendly", { "calendly-webhook-signature": `t=${now},v1=${hmac("sha256", s, `${now}.${body}`, "hex")}` }],
      ["mux", { "mux-signature": `t=${now},v1=${hmac("sha256", s, `${now}.${body}`, "hex")}` }],
      ["buildkite", { "x-buildkite-signature": `timestamp=${now},signature=${hmac("sha256", s, `${now}.${body}`, "hex")}` }],
      ["buildkite", { "x-buildkite-token": s }],
      ["pagerduty", { "x-pagerduty-signature": `v1=${"ab".repeat(32)},v1=${hmac("sha256", s, body, "hex")}` }],
      ["zendesk", { "x-zendesk-webhook-signature-timestamp": "2026-01-01T00:00:00Z", "x-zendesk-webhook-signature": hmac("sha256", s, `2026-01-01T00:00:00Z${body}`, "base64") }],
      ["square", { "x-square-hmacsha256-signature": hmac("sha256", s, `https://hooks.example.com/sq${body}`, "base64") }],
    ];
    for (const [provider, headers] of cases) {
      const url = "https://hooks.example.com/sq";
      expect(await verify(provider, s, { url, headers }, body, now), `${provider} signed`).toMatchObject({ status: 200 });
      expect(await verify(provider, "wrong-secret", { url, headers }, body, now), `${provider} wrong secret`).toMatchObject({ status: 403 });
    }
  });
});

describe("verify-webhook config and plumbing", () => {
  it("rejects an unknown provider and a missing secret, naming the field", () => {
    const text = errorsOf(`on_http_request:\n  - actions:\n      - type: verify-webhook\n        config: {provider: acme}\n`);
    expect(text).toMatch(/actions\[0\]\.config\.provider: unsupported provider "acme"/);
    expect(text).toMatch(/actions\[0\]\.config\.secret: is required/);
  });

  it("accepts ngrok's older name webhook-validation, and marks the policy as needing the body", () => {
    const p = policyOf(`on_http_request:\n  - actions:\n      - type: webhook-validation\n        config: {provider: github, secret: x}\n`);
    expect(p.needsRequestBody).toBe(true);
    expect(policyOf(`on_http_request:\n  - actions:\n      - type: deny\n`).needsRequestBody).toBe(false);
  });

  it("hands a failed body read back to the edge instead of answering 500", async () => {
    const ctx = request({ method: "POST" });
    const tooBig = new Error("the body is too large");
    ctx.request.body = { read: () => Promise.reject(tooBig), replace: () => undefined };
    await expect(policy("github", "x").onHttpRequest(ctx, fakeRuntime())).rejects.toBe(tooBig);
  });
});
