import { ErrorCode, OnrampError } from "@onramp/errors";
import { formatPolicyErrors, loadPolicy } from "@onramp/policy";
import type { Command } from "commander";
import { isIP } from "node:net";
import { Document, isMap, isNode, isScalar, isSeq, parseDocument, stringify, type YAMLMap, type YAMLSeq } from "yaml";

/** The shortcut flags as commander hands them over; each repeatable flag is a list. */
export interface PolicyShortcutFlags {
  basicAuth?: string[];
  requestHeaderAdd?: string[];
  responseHeaderAdd?: string[];
  ipRestrictionAllow?: string[];
  ipRestrictionDeny?: string[];
  printPolicy?: boolean;
}

export interface PolicyAction {
  type: string;
  config: Record<string, unknown>;
}

/** A rule as ngrok's Traffic Policy format writes it; shortcut rules are named after their flag. */
export interface PolicyRule {
  name: string;
  actions: PolicyAction[];
}

/** The rules the shortcut flags generate, per phase, in ngrok's Traffic Policy form. */
export interface ShortcutPolicy {
  on_http_request?: PolicyRule[];
  on_http_response?: PolicyRule[];
}

/** A policy's text and the name its errors go under: the file's path, or the config key it came from. */
export interface PolicySource {
  text: string;
  source: string;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** Adds the flags that generate traffic policy rules, as ngrok's agent flags do, and --print-policy. */
export function addPolicyShortcutFlags(command: Command): Command {
  return command
    .option("--basic-auth <user:password>", "require HTTP basic auth with this user and password (up to 128 characters; pick a long one); repeat for more users, up to 10", collect)
    .option("--request-header-add <header>", 'add a header "Name: value" to every request to the upstream; repeatable', collect)
    .option("--response-header-add <header>", 'add a header "Name: value" to every response to the client; repeatable', collect)
    .option("--ip-restriction-allow <cidr>", "answer only clients in these ranges, others get 403; repeat or comma-separate", collect)
    .option("--ip-restriction-deny <cidr>", "refuse clients in these ranges with 403; repeat or comma-separate", collect)
    .option("--print-policy", "print the endpoint's traffic policy (the shortcut flags' rules, then --traffic-policy-file's) as YAML and exit without connecting");
}

/**
 * The rules the shortcut flags stand for, or undefined when none is given. In on_http_request:
 * IP restrictions, then basic auth (a refused address gets no login prompt), then added request
 * headers; in on_http_response, added response headers. Each flag is checked and named in errors.
 */
export function shortcutPolicy(flags: PolicyShortcutFlags): ShortcutPolicy | undefined {
  const request: PolicyRule[] = [];
  const response: PolicyRule[] = [];

  const allow = cidrs("--ip-restriction-allow", flags.ipRestrictionAllow);
  const deny = cidrs("--ip-restriction-deny", flags.ipRestrictionDeny);
  if (allow || deny) {
    const name = [allow && "--ip-restriction-allow", deny && "--ip-restriction-deny"].filter(Boolean).join(", ");
    request.push({ name, actions: [{ type: "restrict-ips", config: { ...(allow && { allow }), ...(deny && { deny }) } }] });
  }

  const credentials = flags.basicAuth?.map(credential);
  if (credentials) {
    // ngrok's limit, which the basic-auth action enforces too.
    if (credentials.length > 10) throw bad("--basic-auth", `at most 10 users, got ${credentials.length}`);
    request.push({ name: "--basic-auth", actions: [{ type: "basic-auth", config: { credentials } }] });
  }

  const requestHeaders = headerActions("--request-header-add", flags.requestHeaderAdd);
  if (requestHeaders) request.push({ name: "--request-header-add", actions: requestHeaders });
  const responseHeaders = headerActions("--response-header-add", flags.responseHeaderAdd);
  if (responseHeaders) response.push({ name: "--response-header-add", actions: responseHeaders });

  if (request.length === 0 && response.length === 0) return undefined;
  const policy: ShortcutPolicy = {};
  if (request.length > 0) policy.on_http_request = request;
  if (response.length > 0) policy.on_http_response = response;
  // What the checks above cannot see, such as a `${…}` in a header value naming no variable.
  const loaded = loadPolicy(toYaml(policy), { filename: "shortcut flags" });
  if (!loaded.ok) {
    const lines = loaded.errors.map((e) => `${e.ruleName ?? "shortcut flags"}: ${e.field ? `${e.field}: ` : ""}${e.message}`);
    throw new OnrampError(ErrorCode.InvalidArgument, lines.join("\n"));
  }
  return policy;
}

/**
 * The policy text to bind with: the shortcut rules first in each phase (authentication and IP
 * restrictions apply before any rule of the file can answer or forward), then the file's rules in
 * order; phases the shortcuts do not use are kept as they are. The file alone is returned as it
 * is, so the edge's error positions match it. The file is checked first: its errors carry its name
 * and its own line numbers, which the combined text would shift.
 */
export function combinePolicies(file: PolicySource | undefined, shortcuts: ShortcutPolicy | undefined): string | undefined {
  if (!shortcuts) return file?.text;
  if (!file) return toYaml(shortcuts);
  const checked = loadPolicy(file.text, { filename: file.source });
  if (!checked.ok) throw new OnrampError(ErrorCode.PolicyInvalid, `${file.source} is not a valid traffic policy:\n${formatPolicyErrors(checked.errors)}`);

  // The file's comments and layout are kept; JSON (a flow map at the top) has none to keep and is
  // rebuilt, so it prints as block YAML like the rest.
  const parsed = parseDocument(file.text);
  const doc: Document = isMap(parsed.contents) && parsed.contents.flow ? new Document(parsed.toJS()) : parsed;
  // An empty file (or only comments) is an empty policy.
  const root = isMap(doc.contents) ? doc.contents : (doc.contents = doc.createNode({}) as YAMLMap);
  for (const phase of ["on_http_request", "on_http_response"] as const) {
    const rules = shortcuts[phase];
    if (!rules?.length) continue;
    const added = doc.createNode(rules) as YAMLSeq;
    const existing = root.get(phase, true);
    if (isSeq(existing)) {
      // A comment above the file's first rule stays with that rule, not above the shortcut rules.
      const first = existing.items[0];
      if (existing.commentBefore && isNode(first) && !first.commentBefore) {
        first.commentBefore = existing.commentBefore;
        existing.commentBefore = undefined;
      }
      existing.items.unshift(...added.items);
      existing.flow = false;
    } else {
      // A phase the file lacks (or leaves empty) goes where it belongs among the file's phases; a
      // comment at the top of the file stays there.
      root.delete(phase);
      const at = root.items.findIndex((pair) => isScalar(pair.key) && PHASES.indexOf(String(pair.key.value)) > PHASES.indexOf(phase));
      const first = at === 0 ? root.items[0]?.key : undefined;
      if (isScalar(first) && first.commentBefore) {
        root.commentBefore = first.commentBefore;
        first.commentBefore = undefined;
      }
      root.items.splice(at < 0 ? root.items.length : at, 0, doc.createPair(phase, added));
    }
  }
  return doc.toString({ lineWidth: 0, flowCollectionPadding: false });
}

/** What --print-policy writes: the policy the edge gets, or `{}` (no rules) when there is none. */
export function printablePolicy(policy: string | undefined): string {
  if (policy === undefined || policy.trim() === "") return "{}\n";
  return policy.endsWith("\n") ? policy : `${policy}\n`;
}

/** In the order traffic meets them. */
const PHASES = ["on_tcp_connect", "on_http_request", "on_http_response"];

/** RFC 9110 §5.6.2 token: what add-headers accepts as a name. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function credential(text: string): string {
  const colon = text.indexOf(":");
  if (colon < 0) throw bad("--basic-auth", `${JSON.stringify(text)} is not user:password`);
  const user = text.slice(0, colon);
  if (user === "") throw bad("--basic-auth", "the user name before the \":\" is empty");
  const length = text.length - colon - 1;
  if (length < 1 || length > 128) throw bad("--basic-auth", `the password of ${JSON.stringify(user)} must be 1 to 128 characters long, got ${length}`);
  return text;
}

/**
 * One add-headers action per run of distinct names: its config is a map, so a name given twice
 * (an extra Set-Cookie, say) starts another action, which appends it again.
 */
function headerActions(flag: string, lines: string[] | undefined): PolicyAction[] | undefined {
  if (!lines) return undefined;
  const actions: PolicyAction[] = [];
  let headers: Record<string, string> = {};
  let names = new Set<string>();
  for (const line of lines) {
    const [name, value] = header(flag, line);
    if (names.has(name.toLowerCase())) {
      actions.push({ type: "add-headers", config: { headers } });
      headers = {};
      names = new Set();
    }
    names.add(name.toLowerCase());
    headers[name] = value;
  }
  actions.push({ type: "add-headers", config: { headers } });
  return actions;
}

function header(flag: string, line: string): [string, string] {
  const colon = line.indexOf(":");
  const name = line.slice(0, Math.max(0, colon));
  if (!TOKEN.test(name)) throw bad(flag, `${JSON.stringify(line)} is not "Name: value" with a valid header name`);
  // A second Host would make the request invalid; replacing it is the agent's job.
  if (flag === "--request-header-add" && name.toLowerCase() === "host") throw bad(flag, "the Host header is set with --host-header");
  // RFC 9110 §5.5: whitespace around a field value is not part of it.
  const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
  if (/[\r\n\0]/.test(value)) throw bad(flag, `the value of ${name} contains CR, LF or NUL`);
  return [name, value];
}

/** The CIDRs of a repeatable, comma-separating flag; undefined when it was not given. */
function cidrs(flag: string, values: string[] | undefined): string[] | undefined {
  if (!values) return undefined;
  const list = values.flatMap((v) => v.split(",")).map((v) => v.trim()).filter(Boolean);
  if (list.length === 0) throw bad(flag, "no CIDR given");
  for (const text of list) {
    const slash = text.indexOf("/");
    const address = slash < 0 ? text : text.slice(0, slash);
    const version = isIP(address);
    const bits = slash < 0 ? undefined : text.slice(slash + 1);
    const valid = version !== 0 && (bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= (version === 6 ? 128 : 32)));
    if (!valid) throw bad(flag, `${JSON.stringify(text)} is not an IPv4 or IPv6 CIDR such as 10.0.0.0/8 or 2001:db8::/32`);
  }
  return list;
}

function toYaml(policy: ShortcutPolicy): string {
  return stringify(policy, { lineWidth: 0 });
}

function bad(flag: string, why: string): OnrampError {
  return new OnrampError(ErrorCode.InvalidArgument, `${flag}: ${why}`);
}
