import { ErrorCode, OnrampError } from "@onramp/errors";
import { type Cidr, cidrContains, parseCidr, parseIp } from "./cidr.js";

/**
 * Operator-defined IP categories (`ip_categories` in the edge config): name → CIDRs. Names are
 * dotted like ngrok's (`proxy.anonymous.tor`, `blocklist.example`) and hierarchical: an address in
 * `proxy.anonymous.tor` is also in `proxy.anonymous` and `proxy`, so `'proxy.anonymous' in
 * conn.client_ip.categories` matches every anonymous proxy, as in ngrok.
 */
export interface IpCategories {
  /** The configured names, sorted. */
  readonly names: readonly string[];
  /** The categories listing `ip`, with their ancestors, sorted; empty for an unparseable address. */
  of(ip: string): readonly string[];
}

const NAME = /^[a-z0-9][a-z0-9_-]*(?:\.[a-z0-9][a-z0-9_-]*)*$/;
const NONE: readonly string[] = [];

function ancestors(name: string): string[] {
  const parts = name.split(".");
  return parts.map((_, i) => parts.slice(0, i + 1).join("."));
}

export function createIpCategories(config: Readonly<Record<string, readonly string[]>>): IpCategories {
  // Single addresses (a Tor exit list is a few thousand of them) go in a set; ranges are scanned.
  const hosts = new Map<bigint, string[]>();
  const ranges: Array<{ cidr: Cidr; names: string[] }> = [];
  for (const [name, entries] of Object.entries(config)) {
    if (!NAME.test(name)) {
      throw new OnrampError(ErrorCode.InvalidArgument, `ip_categories: ${JSON.stringify(name)} is not a category name (lowercase letters, digits, _ and -, in dot-separated parts)`);
    }
    const names = ancestors(name);
    entries.forEach((entry, i) => {
      const cidr = parseCidr(entry.trim());
      if (!cidr) throw new OnrampError(ErrorCode.InvalidArgument, `ip_categories.${name}[${i}]: ${JSON.stringify(entry)} is not an IPv4 or IPv6 address or CIDR`);
      const single = cidr.mask === (1n << 128n) - 1n;
      if (single) hosts.set(cidr.base, [...(hosts.get(cidr.base) ?? []), ...names]);
      else ranges.push({ cidr, names });
    });
  }
  return {
    names: Object.keys(config).sort(),
    of(ip) {
      const addr = parseIp(ip);
      if (addr === undefined) return NONE;
      const found = new Set(hosts.get(addr));
      for (const r of ranges) if (cidrContains(r.cidr, addr)) for (const n of r.names) found.add(n);
      return found.size === 0 ? NONE : [...found].sort();
    },
  };
}

/**
 * The entries of a category list file: one address or CIDR per line; blank lines and `#` comments
 * are skipped (the Tor Project's exit list, FireHOL's `.netset` files and most blocklists read as is).
 */
export function parseIpListFile(content: string): string[] {
  return content
    .split(/\r?\n/)
    .map((line) => (line.split("#")[0] ?? "").trim())
    .filter((line) => line !== "");
}
