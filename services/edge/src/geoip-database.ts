import { ErrorCode, OnrampError } from "@onramp/errors";
import { type IpIntelligence, TOR_CATEGORY, createIpIntelligence, parseIpListFile } from "@onramp/policy";
import { readFileSync } from "node:fs";
import { isIP } from "node:net";

/**
 * The edge's side of IP intelligence: it reads the files the operator named (GeoIP databases,
 * category lists) and hands their contents to @onramp/policy, which parses them. Read once, when
 * the edge starts; a changed file takes effect at the next start.
 */
export interface IpIntelligenceFiles {
  /** MaxMind DB files: at most one City/Country and one ASN database (GeoLite2, GeoIP2, DB-IP Lite). */
  readonly geoipDatabases?: readonly string[];
  /** Category name → entries, each a CIDR, an address, or the path of a file listing them one per line. */
  readonly ipCategories?: Readonly<Record<string, readonly string[]>>;
  /** A file of Tor exit node addresses, one per line: the `proxy.anonymous.tor` category. */
  readonly torExitNodes?: string;
}

function read(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new OnrampError(ErrorCode.InvalidArgument, `${what}: cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** A CIDR or address stays as it is; anything else names a list file, whose lines are read. */
function expand(name: string, entries: readonly string[]): string[] {
  return entries.flatMap((entry) => {
    const addr = entry.trim().split("/")[0] ?? "";
    return isIP(addr) !== 0 ? [entry.trim()] : parseIpListFile(read(entry, `ip_categories.${name}`).toString("utf8"));
  });
}

/** Undefined when nothing is configured, so policies that read these variables fail to load and say why. */
export function loadIpIntelligence(files: IpIntelligenceFiles): IpIntelligence | undefined {
  const databases = (files.geoipDatabases ?? []).map((path) => ({ name: path, bytes: read(path, "geoip_db") }));
  const categories: Record<string, string[]> = {};
  for (const [name, entries] of Object.entries(files.ipCategories ?? {})) categories[name] = expand(name, entries);
  if (files.torExitNodes !== undefined) {
    const exits = parseIpListFile(read(files.torExitNodes, "tor_exit_nodes").toString("utf8"));
    categories[TOR_CATEGORY] = [...(categories[TOR_CATEGORY] ?? []), ...exits];
  }
  if (databases.length === 0 && Object.keys(categories).length === 0) return undefined;
  return createIpIntelligence({ databases, categories });
}
