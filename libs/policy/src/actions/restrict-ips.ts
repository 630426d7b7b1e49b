import { type ActionDefinition, type ActionExecution, NEXT } from "../action-types.js";
import { BoundedCache } from "../bounded-cache.js";
import { type Cidr, cidrContains, parseCidr, parseIp } from "../cidr.js";
import { isCelList } from "@bufbuild/cel";
import { type ConfigReader, readString, readTemplate } from "../config-reader.js";
import { loadEnvironmentOf } from "../ip-intelligence-environment.js";
import { celToString } from "../cel-values.js";
import type { Template } from "../interpolation.js";
import { engineResponse } from "../outcome.js";

/** One `allow`/`deny` entry: a CIDR parsed at load, or `${…}` text parsed per request. */
type CidrEntry = { readonly cidr: Cidr } | { readonly template: Template };

/** 256 distinct interpolated CIDR texts per action, parsed once each. */
const DYNAMIC_CIDRS = 256;

function readCidrs(config: ConfigReader, key: string): CidrEntry[] | undefined {
  const items = config.list(key);
  if (!items) return undefined;
  const out: CidrEntry[] = [];
  for (const item of items) {
    const template = readTemplate(config.cx, item.cursor, item.value);
    if (!template) continue;
    if (template.constant === undefined) {
      out.push({ template });
      continue;
    }
    const cidr = parseCidr(template.constant);
    if (cidr) out.push({ cidr });
    else item.cursor.error(`${JSON.stringify(template.constant)} is not a valid IPv4 or IPv6 CIDR`);
  }
  return out;
}

/**
 * `ip_policies`: names of IP policies defined in the edge config (`ip_policies:` there), whose
 * allow and deny CIDRs join the action's own. An unknown name fails the load.
 */
function readIpPolicies(config: ConfigReader): { allow: CidrEntry[]; deny: CidrEntry[] } {
  const out: { allow: CidrEntry[]; deny: CidrEntry[] } = { allow: [], deny: [] };
  const defined = loadEnvironmentOf(config.cx.cel).ipPolicies;
  for (const item of config.list("ip_policies") ?? []) {
    const name = readString(item.cursor, item.value);
    if (name === undefined) continue;
    const policy = Object.hasOwn(defined, name) ? defined[name] : undefined;
    if (!policy) {
      const known = Object.keys(defined);
      item.cursor.error(`unknown IP policy ${JSON.stringify(name)} (${known.length ? `the edge defines: ${known.join(", ")}` : "the edge config defines no ip_policies"})`);
      continue;
    }
    for (const list of ["allow", "deny"] as const) {
      for (const text of policy[list] ?? []) {
        const cidr = parseCidr(text.trim());
        if (cidr) out[list].push({ cidr });
        else item.cursor.error(`IP policy ${JSON.stringify(name)}: ${list} entry ${JSON.stringify(text)} is not a valid IPv4 or IPv6 CIDR`);
      }
    }
  }
  return out;
}

/**
 * The CIDRs an entry stands for in this request. An interpolated entry may produce one CIDR or a
 * list of them (`"${vars.office_cidrs}"`); text that is not a CIDR matches nothing, as in ngrok,
 * rather than failing the request.
 */
function* cidrsOf(entries: readonly CidrEntry[], x: ActionExecution, parsed: BoundedCache<string, Cidr | null>): Generator<Cidr> {
  for (const e of entries) {
    if ("cidr" in e) {
      yield e.cidr;
      continue;
    }
    const v = e.template.value(x.scope);
    const texts = isCelList(v) || Array.isArray(v) ? Array.from(v as Iterable<unknown>, celToString) : [celToString(v)];
    for (const text of texts) {
      const cidr = parsed.getOrMake(text, () => parseCidr(text.trim()) ?? null);
      if (cidr) yield cidr;
    }
  }
}

/** The CIDRs of `entries` when none is interpolated, else undefined. */
function literalCidrs(entries: readonly CidrEntry[]): Cidr[] | undefined {
  const out: Cidr[] = [];
  for (const e of entries) {
    if (!("cidr" in e)) return undefined;
    out.push(e.cidr);
  }
  return out;
}

/**
 * `restrict-ips`: a client IP matching `deny` is refused; with an `allow` list, so is one that
 * matches none of it. Refused means 403 over HTTP (in `on_http_response`, in place of the
 * upstream's response) and a closed connection in `on_tcp_connect`.
 * `ip_policies` adds the CIDRs of named IP policies from the edge config.
 * With `enforce: false` the decision is only published in `actions.ngrok.restrict_ips`.
 */
export const restrictIps: ActionDefinition = {
  type: "restrict-ips",
  phases: ["on_tcp_connect", "on_http_request", "on_http_response"],
  compile(config) {
    const enforce = config.bool("enforce", true);
    const allow = readCidrs(config, "allow") ?? [];
    const deny = readCidrs(config, "deny") ?? [];
    const named = readIpPolicies(config);
    config.finish();
    if (!config.has("allow") && !config.has("deny") && !config.has("ip_policies")) {
      config.cursor.error("needs at least one of allow or deny (or ip_policies)");
      return undefined;
    }
    allow.push(...named.allow);
    deny.push(...named.deny);
    const parsed = new BoundedCache<string, Cidr | null>(DYNAMIC_CIDRS);
    const find = (entries: readonly CidrEntry[], ip: bigint, x: ActionExecution): Cidr | undefined => {
      for (const c of cidrsOf(entries, x, parsed)) if (cidrContains(c, ip)) return c;
      return undefined;
    };
    // Without `${…}` entries the lists are fixed: searched with a plain loop, no generator per request.
    const fixedAllow = literalCidrs(allow);
    const fixedDeny = literalCidrs(deny);
    const findIn = (entries: readonly CidrEntry[], fixed: readonly Cidr[] | undefined, ip: bigint, x: ActionExecution): Cidr | undefined => {
      if (fixed === undefined) return find(entries, ip, x);
      for (const c of fixed) if (cidrContains(c, ip)) return c;
      return undefined;
    };
    // The address parsed last: a client's requests (keep-alive, or one busy client) come in runs.
    let lastIpText: string | undefined;
    let lastIp: bigint | undefined;
    return {
      type: "restrict-ips",
      alwaysTerminates: false,
      run(x) {
        const text = x.ctx.conn.clientIp;
        if (text !== lastIpText) {
          lastIp = parseIp(text);
          lastIpText = text;
        }
        const ip = lastIp;
        const denied = ip === undefined ? undefined : findIn(deny, fixedDeny, ip, x);
        const allowed = ip === undefined ? undefined : findIn(allow, fixedAllow, ip, x);
        const refuse = denied !== undefined || (allow.length > 0 && allowed === undefined);
        x.setResult("restrict_ips", { action: refuse ? "deny" : "allow", matched_cidr: (denied ?? allowed)?.text ?? "" });
        if (!refuse || !enforce) return NEXT;
        if (x.phase === "on_tcp_connect") return { kind: "close" };
        return { kind: "respond", response: engineResponse(403, "ACCESS_DENIED", "Access denied: your IP address is not allowed.") };
      },
    };
  },
};
