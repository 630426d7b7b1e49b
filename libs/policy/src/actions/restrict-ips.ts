import { type ActionDefinition, NEXT } from "../action-types.js";
import { type Cidr, cidrContains, parseCidr, parseIp } from "../cidr.js";
import type { ConfigReader } from "../config-reader.js";
import { engineResponse } from "../outcome.js";

function readCidrs(config: ConfigReader, key: string): Cidr[] | undefined {
  const items = config.stringList(key);
  if (!items) return undefined;
  const out: Cidr[] = [];
  for (const item of items) {
    const cidr = parseCidr(item.value);
    if (cidr) out.push(cidr);
    else item.cursor.error(`${JSON.stringify(item.value)} is not a valid IPv4 or IPv6 CIDR`);
  }
  return out;
}

/**
 * `restrict-ips`: a client IP matching `deny` is refused; with an `allow` list, so is one that
 * matches none of it. Refused means 403 over HTTP and a closed connection in `on_tcp_connect`.
 * With `enforce: false` the decision is only published in `actions.ngrok.restrict_ips`.
 */
export const restrictIps: ActionDefinition = {
  type: "restrict-ips",
  phases: ["on_tcp_connect", "on_http_request"],
  compile(config) {
    const enforce = config.bool("enforce", true);
    const allow = readCidrs(config, "allow") ?? [];
    const deny = readCidrs(config, "deny") ?? [];
    config.finish();
    if (!config.has("allow") && !config.has("deny")) {
      config.cursor.error("needs at least one of allow or deny");
      return undefined;
    }
    return {
      type: "restrict-ips",
      alwaysTerminates: false,
      run(x) {
        const ip = parseIp(x.ctx.conn.clientIp);
        const denied = ip === undefined ? undefined : deny.find((c) => cidrContains(c, ip));
        const allowed = ip === undefined ? undefined : allow.find((c) => cidrContains(c, ip));
        const refuse = denied !== undefined || (allow.length > 0 && allowed === undefined);
        x.setResult("restrict_ips", { action: refuse ? "deny" : "allow", matched_cidr: (denied ?? allowed)?.text ?? "" });
        if (!refuse || !enforce) return NEXT;
        if (x.phase === "on_tcp_connect") return { kind: "close" };
        return { kind: "respond", response: engineResponse(403, "ACCESS_DENIED", "Access denied: your IP address is not allowed.") };
      },
    };
  },
};
