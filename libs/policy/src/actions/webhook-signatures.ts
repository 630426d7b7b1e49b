import { createHmac, timingSafeEqual } from "node:crypto";

/**
 * The building blocks of webhook signature schemes: HMACs over the raw body (plus a timestamp or
 * URL for some providers), compared in constant time so a forger learns nothing from timing.
 */

/** A failed check: `code` for `actions.ngrok.verify_webhook.error.code`, `message` for people. */
export interface WebhookFailure {
  readonly code: string;
  readonly message: string;
}

/** What a provider's check sees: the raw body, the headers, and the URL the provider called. */
export interface WebhookRequest {
  readonly method: string;
  /** `scheme://host/path?query` as the client asked for it (Twilio and Square sign it). */
  readonly url: string;
  /** Lowercase name → values. */
  readonly headers: Map<string, string[]>;
  readonly body: Uint8Array;
  /** Now, in ms since the epoch, for timestamp tolerance. */
  readonly nowMs: number;
}

export type Digest = "sha1" | "sha256" | "sha512";

export function hmac(digest: Digest, key: string | Uint8Array, ...parts: Array<string | Uint8Array>): Buffer {
  const h = createHmac(digest, key);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** Constant-time equality of a computed MAC and a claimed one (`hex` or `base64` text). */
export function macMatches(expected: Uint8Array, claimed: string, encoding: "hex" | "base64"): boolean {
  const text = claimed.trim();
  if (encoding === "hex" && !/^[0-9a-fA-F]*$/.test(text)) return false;
  const got = Buffer.from(text, encoding);
  return got.length === expected.length && got.length > 0 && timingSafeEqual(got, expected);
}

/** Constant-time equality of two strings (a shared token). */
export function textMatches(expected: string, claimed: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(claimed);
  return a.length === b.length && a.length > 0 && timingSafeEqual(a, b);
}

export function header(req: WebhookRequest, name: string): string | undefined {
  return req.headers.get(name)?.[0];
}

/** `t=1,v1=ab,v1=cd` → key → values (Stripe, Calendly, Mux, Buildkite, PagerDuty). */
export function keyedList(value: string, separator = ","): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const part of value.split(separator)) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim();
    const list = out.get(key) ?? [];
    list.push(part.slice(eq + 1).trim());
    out.set(key, list);
  }
  return out;
}

/**
 * Five minutes either way: Stripe's, Slack's and Standard Webhooks' libraries default to 300 s, long
 * enough for a provider's retry queue and clock skew, short enough to bound replays.
 */
export const TIMESTAMP_TOLERANCE_S = 300;

/** Undefined when `seconds` (Unix time, as text) is within the tolerance of now, else the failure. */
export function staleTimestamp(req: WebhookRequest, seconds: string | undefined): WebhookFailure | undefined {
  if (seconds === undefined || !/^\d{1,12}$/.test(seconds.trim())) {
    return { code: "missing_timestamp", message: "the request has no valid signature timestamp" };
  }
  const skew = Math.abs(req.nowMs / 1000 - Number(seconds));
  if (skew > TIMESTAMP_TOLERANCE_S) {
    return { code: "timestamp_out_of_tolerance", message: `the signature timestamp is ${Math.round(skew)} s away from now (at most ${TIMESTAMP_TOLERANCE_S} s)` };
  }
  return undefined;
}

export const missing = (name: string): WebhookFailure => ({ code: "missing_signature", message: `the request has no ${name} header` });
export const invalid = (name: string): WebhookFailure => ({ code: "invalid_signature", message: `the ${name} signature does not match` });
