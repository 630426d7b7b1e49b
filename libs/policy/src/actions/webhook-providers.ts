import { createHash } from "node:crypto";
import {
  type Digest,
  type WebhookFailure,
  type WebhookRequest,
  header,
  hmac,
  invalid,
  keyedList,
  macMatches,
  missing,
  staleTimestamp,
  textMatches,
} from "./webhook-signatures.js";

/** Undefined when the request carries a valid signature by `secret`, else why not. */
export type WebhookCheck = (req: WebhookRequest, secret: string) => WebhookFailure | undefined;

/** `<prefix><hex or base64 HMAC of the body>` in one header (GitHub, Shopify, Linear, …). */
function bodyMac(name: string, digest: Digest, encoding: "hex" | "base64", prefix = ""): WebhookCheck {
  return (req, secret) => {
    const value = header(req, name);
    if (value === undefined) return missing(name);
    if (!value.startsWith(prefix)) return invalid(name);
    return macMatches(hmac(digest, secret, req.body), value.slice(prefix.length), encoding) ? undefined : invalid(name);
  };
}

/** The first check that finds its header decides: GitHub sends both SHA-256 and (legacy) SHA-1. */
function firstPresent(...checks: Array<[string, WebhookCheck]>): WebhookCheck {
  return (req, secret) => {
    for (const [name, check] of checks) if (header(req, name) !== undefined) return check(req, secret);
    return missing(checks.map(([n]) => n).join(" or "));
  };
}

/** `t=<unix>,v1=<hex HMAC of "t.body">` with several v1 allowed (Stripe, Calendly, Mux). */
function timestampedHex(name: string, tKey = "t", sigKey = "v1"): WebhookCheck {
  return (req, secret) => {
    const value = header(req, name);
    if (value === undefined) return missing(name);
    const fields = keyedList(value);
    const t = fields.get(tKey)?.[0];
    const stale = staleTimestamp(req, t);
    if (stale) return stale;
    const expected = hmac("sha256", secret, `${t}.`, req.body);
    return (fields.get(sigKey) ?? []).some((s) => macMatches(expected, s, "hex")) ? undefined : invalid(name);
  };
}

/** Slack: `v0=<hex HMAC of "v0:ts:body">`, timestamp in X-Slack-Request-Timestamp. */
const slack: WebhookCheck = (req, secret) => {
  const signature = header(req, "x-slack-signature");
  if (signature === undefined) return missing("x-slack-signature");
  const ts = header(req, "x-slack-request-timestamp");
  const stale = staleTimestamp(req, ts);
  if (stale) return stale;
  if (!signature.startsWith("v0=")) return invalid("x-slack-signature");
  return macMatches(hmac("sha256", secret, `v0:${ts}:`, req.body), signature.slice(3), "hex") ? undefined : invalid("x-slack-signature");
};

/**
 * Twilio: base64 HMAC-SHA1 by the auth token of the full URL followed, for a form POST, by every
 * parameter name and value sorted by name. A JSON body is instead pinned by the URL's
 * `bodySHA256` parameter (hex SHA-256 of the body), and the URL alone is signed.
 */
const twilio: WebhookCheck = (req, secret) => {
  const name = "x-twilio-signature";
  const signature = header(req, name);
  if (signature === undefined) return missing(name);
  const url = new URL(req.url);
  const bodyHash = url.searchParams.get("bodySHA256");
  let signed = req.url;
  if (bodyHash !== null) {
    const actual = createHash("sha256").update(req.body).digest("hex");
    if (!textMatches(actual, bodyHash.toLowerCase())) return { code: "invalid_body_hash", message: "the body does not match the URL's bodySHA256" };
  } else if ((header(req, "content-type") ?? "").toLowerCase().startsWith("application/x-www-form-urlencoded")) {
    const params = [...new URLSearchParams(new TextDecoder().decode(req.body))];
    params.sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
    signed += params.map(([k, v]) => k + v).join("");
  }
  return macMatches(hmac("sha1", secret, signed), signature, "base64") ? undefined : invalid(name);
};

/** Square: base64 HMAC-SHA256 of the notification URL followed by the body. */
const square: WebhookCheck = (req, secret) => {
  const name = "x-square-hmacsha256-signature";
  const signature = header(req, name);
  if (signature === undefined) return missing(name);
  return macMatches(hmac("sha256", secret, req.url, req.body), signature, "base64") ? undefined : invalid(name);
};

/**
 * Standard Webhooks (and Svix, which wrote it; Clerk sends through Svix): base64 HMAC-SHA256 of
 * `id.timestamp.body` keyed by the base64 secret after `whsec_`; the signature header lists
 * space-separated `v1,<base64>` entries, any of which may match (key rotation).
 */
function standardWebhooks(prefixes: readonly string[]): WebhookCheck {
  return (req, secret) => {
    const prefix = prefixes.find((p) => header(req, `${p}-signature`) !== undefined);
    if (prefix === undefined) return missing(prefixes.map((p) => `${p}-signature`).join(" or "));
    const id = header(req, `${prefix}-id`);
    if (id === undefined) return missing(`${prefix}-id`);
    const ts = header(req, `${prefix}-timestamp`);
    const stale = staleTimestamp(req, ts);
    if (stale) return stale;
    const key = Buffer.from(secret.startsWith("whsec_") ? secret.slice(6) : secret, "base64");
    const expected = hmac("sha256", key, `${id}.${ts}.`, req.body);
    const candidates = (header(req, `${prefix}-signature`) ?? "").split(" ");
    const ok = candidates.some((c) => c.startsWith("v1,") && macMatches(expected, c.slice(3), "base64"));
    return ok ? undefined : invalid(`${prefix}-signature`);
  };
}

/** Zendesk: base64 HMAC-SHA256 of the timestamp header followed by the body. */
const zendesk: WebhookCheck = (req, secret) => {
  const name = "x-zendesk-webhook-signature";
  const signature = header(req, name);
  if (signature === undefined) return missing(name);
  const ts = header(req, "x-zendesk-webhook-signature-timestamp");
  if (ts === undefined) return missing("x-zendesk-webhook-signature-timestamp");
  return macMatches(hmac("sha256", secret, ts, req.body), signature, "base64") ? undefined : invalid(name);
};

/** PagerDuty: `v1=<hex>` entries, comma-separated (one per signing secret), HMAC-SHA256 of the body. */
const pagerduty: WebhookCheck = (req, secret) => {
  const name = "x-pagerduty-signature";
  const value = header(req, name);
  if (value === undefined) return missing(name);
  const expected = hmac("sha256", secret, req.body);
  return (keyedList(value).get("v1") ?? []).some((s) => macMatches(expected, s, "hex")) ? undefined : invalid(name);
};

/** Buildkite: a signature `timestamp=…,signature=<hex HMAC of "timestamp.body">`, or a plain X-Buildkite-Token. */
const buildkite: WebhookCheck = (req, secret) => {
  const token = header(req, "x-buildkite-token");
  if (header(req, "x-buildkite-signature") === undefined && token !== undefined) {
    return textMatches(secret, token) ? undefined : invalid("x-buildkite-token");
  }
  return timestampedHex("x-buildkite-signature", "timestamp", "signature")(req, secret);
};

/** GitLab sends the secret itself in X-Gitlab-Token. */
const gitlab: WebhookCheck = (req, secret) => {
  const token = header(req, "x-gitlab-token");
  if (token === undefined) return missing("x-gitlab-token");
  return textMatches(secret, token) ? undefined : invalid("x-gitlab-token");
};

/** Providers by ngrok's identifier (`standard_webhooks` is Onramp's own: any Standard Webhooks sender). */
export const WEBHOOK_PROVIDERS: ReadonlyMap<string, WebhookCheck> = new Map<string, WebhookCheck>([
  ["bitbucket", bodyMac("x-hub-signature", "sha256", "hex", "sha256=")],
  ["buildkite", buildkite],
  ["calendly", timestampedHex("calendly-webhook-signature")],
  ["clerk", standardWebhooks(["svix"])],
  [
    "github",
    firstPresent(
      ["x-hub-signature-256", bodyMac("x-hub-signature-256", "sha256", "hex", "sha256=")],
      ["x-hub-signature", bodyMac("x-hub-signature", "sha1", "hex", "sha1=")],
    ),
  ],
  ["gitlab", gitlab],
  ["intercom", bodyMac("x-hub-signature", "sha1", "hex", "sha1=")],
  ["linear", bodyMac("linear-signature", "sha256", "hex")],
  ["mux", timestampedHex("mux-signature")],
  ["pagerduty", pagerduty],
  ["sentry", bodyMac("sentry-hook-signature", "sha256", "hex")],
  ["shopify", bodyMac("x-shopify-hmac-sha256", "sha256", "base64")],
  ["slack", slack],
  ["square", square],
  ["standard_webhooks", standardWebhooks(["webhook"])],
  ["stripe", timestampedHex("stripe-signature")],
  ["svix", standardWebhooks(["svix", "webhook"])],
  ["twilio", twilio],
  ["typeform", bodyMac("typeform-signature", "sha256", "base64", "sha256=")],
  ["zendesk", zendesk],
]);
