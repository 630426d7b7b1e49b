import { ErrorCode, OnrampError } from "@onramp/errors";

/**
 * Authtoken ACL rules in ngrok's form, parsed and matched. Pure logic: the edge decides what to
 * do with a refusal and combines it with `reservedBy`.
 *
 * What ngrok documents, and we follow:
 * - The only verb is `bind`; a rule is `*` or starts with `bind:`, and the value must be a domain,
 *   an address or a label (API reference, Credentials `acl`,
 *   https://ngrok.com/docs/api-reference/credentials/create, same text in ngrok-api-go
 *   `CredentialCreate.ACL`; ERR_NGROK_600, https://ngrok.com/docs/errors/err_ngrok_600).
 * - `bind:app.example.com` allows only that host; `bind:*.example.com` allows "subdomains of
 *   example.com" (https://ngrok.com/docs/guides/site-to-site-connectivity/authtoken-acls).
 * - A leading wildcard matches "multiple domains with a common suffix": `bind:*.example.com`
 *   allows `x.example.com`, `y.example.com` and the wildcard endpoint `*.example.com` (API ref.).
 *   So depth does not matter: `a.b.example.com` is allowed, as a wildcard domain also covers
 *   `foo.bar.baz.example.com` (https://ngrok.com/docs/universal-gateway/domains, Wildcard Domains).
 * - `*` only as the whole first label: not `app.*.example.com` nor `*-app.example.com` (same
 *   page; ERR_NGROK_403). `bind:*` may bind any endpoint; `*` permits all actions, and bind is
 *   the only action, so it is read as `bind:*`.
 * - A domain owns its nested subdomains: reserving `foo.ngrok.app` keeps other accounts off
 *   `bar.foo.ngrok.app` (Domains, Ownership). `reservedBy` follows that.
 *
 * Where ngrok is silent, the strict reading:
 * - `bind:*.example.com` does not allow `example.com` itself ("subdomains of").
 * - `bind:*.example.com` allows `*.foo.example.com`: the common-suffix rule, and every name that
 *   wildcard serves is one the rule allows anyway. An exact rule never allows a wildcard bind.
 * - Hosts are case-insensitive (DNS names are, RFC 4343) and kept lowercase; the verb is
 *   written `bind` exactly. Trailing dots, underscores, spaces and non-ASCII (use punycode) are
 *   refused; labels are 1–63 letters, digits and inner hyphens, a host at most 253 characters.
 * - Label rules (`bind:foo=bar`) and addresses (`bind:host:port`) are refused: Onramp binds
 *   hostnames only.
 *
 * Where Onramp differs: ngrok lets a token with no rules do anything; an Onramp token with no
 * rules may bind only random URLs (the edge decides what is random). `bind:*` grants every host.
 */

/** One parsed rule. `host` is lowercase: `app.example.com`, `*.example.com`, or `*` for any. */
export interface AclRule {
  /** The rule as written, for messages and logs. */
  readonly text: string;
  readonly kind: "any" | "exact" | "wildcard";
  readonly host: string;
}

export type BindDecision = { allowed: true; rule: string } | { allowed: false; reason: string };

/** RFC 1035 §2.3.4: 63 octets a label, 255 a name on the wire, i.e. 253 characters written. */
const MAX_HOST = 253;
const MAX_LABEL = 63;
const LABEL = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;
const FORMS = "a rule is bind:<host>, bind:*.<domain> or bind:*";

/** Throws an `INVALID_ARGUMENT` OnrampError naming the rule and what is wrong with it. */
export function parseAclRule(text: string): AclRule {
  if (text === "*") return { text, kind: "any", host: "*" };
  const colon = text.indexOf(":");
  if (colon < 0) throw invalid(text, `no verb; ${FORMS}`);
  const verb = text.slice(0, colon);
  if (verb !== "bind") throw invalid(text, `unknown verb ${quote(verb)}; ${FORMS}`);
  // ASCII only: String#toLowerCase would turn U+212A (Kelvin sign) into "k".
  const host = text.slice(colon + 1).replace(/[A-Z]/g, (c) => c.toLowerCase());
  if (host === "") throw invalid(text, "empty host");
  if (host === "*") return { text, kind: "any", host };
  if (host.includes("=")) throw invalid(text, "label rules (key=value) are not supported; Onramp binds hostnames");
  if (host.includes(":")) throw invalid(text, "addresses with a port are not supported; name a hostname");
  if (host.length > MAX_HOST) throw invalid(text, `host is longer than ${MAX_HOST} characters`);
  const labels = host.split(".");
  const wildcard = labels[0] === "*";
  for (const label of wildcard ? labels.slice(1) : labels) {
    if (label === "") throw invalid(text, "empty label (a leading, trailing or doubled dot)");
    if (label.includes("*")) throw invalid(text, "the wildcard must be the whole leftmost label, as in *.example.com");
    if (label.length > MAX_LABEL) throw invalid(text, `label ${quote(label)} is longer than ${MAX_LABEL} characters`);
    if (!LABEL.test(label)) {
      throw invalid(text, `${quote(label)} is not a valid hostname label (letters, digits and inner hyphens)`);
    }
  }
  return { text, kind: wildcard ? "wildcard" : "exact", host };
}

export function parseAcl(rules: readonly string[]): AclRule[] {
  return rules.map(parseAclRule);
}

/**
 * Whether `rules` let a token bind `host` (normalised: lowercase, possibly `*.example.com`).
 * The first rule that allows it is named. Binding a random URL is the edge's call, not this one.
 */
export function allowsBind(rules: readonly AclRule[], host: string): BindDecision {
  for (const rule of rules) {
    if (covers(rule, host)) return { allowed: true, rule: rule.text };
  }
  const add = suggestions(host).join(" or ");
  const none = rules.length === 0 ? " (this authtoken has no ACL rules, so it may bind only random URLs)" : "";
  return { allowed: false, reason: `no rule allows binding ${host}${none}; add ${add}` };
}

/**
 * The reserved name that covers `host`, most specific first, or undefined. An exact reservation
 * covers its host and every name below it; `*.example.com` covers every name below
 * `example.com` (and the wildcard itself) but not `example.com`.
 */
export function reservedBy(reserved: readonly string[], host: string): string | undefined {
  let best: string | undefined;
  let bestLength = -1;
  for (const entry of reserved) {
    const name = entry.toLowerCase();
    const base = name.startsWith("*.") ? name.slice(2) : name;
    const covered = host.endsWith(`.${base}`) || (base === name && host === name);
    if (covered && base.length > bestLength) {
      best = entry;
      bestLength = base.length;
    }
  }
  return best;
}

function covers(rule: AclRule, host: string): boolean {
  switch (rule.kind) {
    case "any":
      return true;
    case "exact":
      return host === rule.host;
    case "wildcard": {
      const suffix = rule.host.slice(1);
      return host.endsWith(suffix) && host.length > suffix.length;
    }
  }
}

/**
 * The rules to suggest: the host itself, and a wildcard one level up unless that would be a
 * whole top-level domain (`*.com`); `*.internal` is offered, internal endpoints live under it.
 */
function suggestions(host: string): string[] {
  const name = host.startsWith("*.") ? host.slice(2) : host;
  const out = [`bind:${host}`];
  const dot = name.indexOf(".");
  const parent = dot < 0 ? "" : name.slice(dot + 1);
  if (parent.includes(".") || parent === "internal") out.push(`bind:*.${parent}`);
  return out;
}

function quote(value: string): string {
  return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
}

function invalid(rule: string, why: string): OnrampError {
  return new OnrampError(ErrorCode.InvalidArgument, `invalid ACL rule ${quote(rule)}: ${why}`);
}
