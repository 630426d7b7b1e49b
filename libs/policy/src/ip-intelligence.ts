import { ErrorCode, OnrampError } from "@onramp/errors";
import { Reader } from "maxmind";
import { createIpCategories } from "./ip-intelligence-categories.js";

/**
 * What the edge knows about a client IP besides the address: where it is (a GeoIP City or Country
 * database), which network owns it (an ASN database), and which operator-defined categories list
 * it (`ip_categories`, `--tor-exit-nodes`). The edge reads the files; this module only parses the
 * bytes it is handed, so the library opens nothing itself.
 */

/** Which variables a policy may use, decided when it loads (cel-check.ts rejects the others). */
export interface IpIntelligenceFeatures {
  /** A City or Country database: `conn.client_ip.geo.*` and `conn.geo.*`. */
  readonly location: boolean;
  /** An ASN database: `conn.client_ip.as.*`. */
  readonly asn: boolean;
  /** The configured category names: `conn.client_ip.categories`, `is_tor_node`, `is_on_blocklist`. */
  readonly categories: readonly string[];
}

/** ngrok's category for Tor exit nodes; `--tor-exit-nodes FILE` fills it. */
export const TOR_CATEGORY = "proxy.anonymous.tor";

/** A place as the database has it; empty strings and undefined numbers when it does not say. */
export interface GeoPlace {
  readonly city: string;
  readonly country: string;
  readonly countryCode: string;
  readonly isEu: boolean;
  readonly latitude: number | undefined;
  readonly longitude: number | undefined;
  /** Kilometres around latitude/longitude (MaxMind's `accuracy_radius`). */
  readonly radius: number | undefined;
  readonly postalCode: string;
  readonly subdivision: string;
  readonly subdivisionCode: string;
}

export interface IpLocation {
  /** Where the address is used. */
  readonly location: GeoPlace;
  /** Where the network is registered (only country fields: that is all the databases hold). */
  readonly registeredLocation: GeoPlace;
}

export interface AutonomousSystem {
  readonly number: number;
  readonly organization: string;
}

/** The lookups behind the IP variables; each may be slow-ish, so bindings call them once per request. */
export interface IpIntelligence {
  readonly features: IpIntelligenceFeatures;
  /** Undefined for an address the database does not cover (private, loopback, unknown) or when there is no database. */
  location(ip: string): IpLocation | undefined;
  autonomousSystem(ip: string): AutonomousSystem | undefined;
  /** The categories listing `ip`, with their dotted ancestors (`proxy.anonymous.tor` → also `proxy.anonymous`, `proxy`), sorted. */
  categories(ip: string): readonly string[];
}

/** A database file's contents as the edge read them, with the name to use in errors. */
export interface GeoipDatabaseFile {
  readonly name: string;
  readonly bytes: Buffer;
}

export interface IpIntelligenceInit {
  /** At most one location (City/Country) and one ASN database, told apart by their metadata `database_type`. */
  readonly databases?: readonly GeoipDatabaseFile[];
  /** Category name → CIDRs or addresses (files already read by the edge). */
  readonly categories?: Readonly<Record<string, readonly string[]>>;
}

interface Names {
  readonly en?: string;
}
interface CountryPart {
  readonly iso_code?: string;
  readonly names?: Names;
  readonly is_in_european_union?: boolean;
}
/** The fields of a GeoLite2/GeoIP2 City or Country record (DB-IP Lite uses the same layout) that Onramp reads. */
interface CityRecord {
  readonly city?: { readonly names?: Names };
  readonly country?: CountryPart;
  readonly registered_country?: CountryPart;
  readonly location?: { readonly latitude?: number; readonly longitude?: number; readonly accuracy_radius?: number };
  readonly postal?: { readonly code?: string };
  readonly subdivisions?: ReadonlyArray<{ readonly iso_code?: string; readonly names?: Names }>;
}
interface AsnRecord {
  readonly autonomous_system_number?: number;
  readonly autonomous_system_organization?: string;
}

const text = (v: unknown): string => (typeof v === "string" ? v : "");
const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

function place(country: CountryPart | undefined, r: CityRecord | undefined): GeoPlace {
  const sub = r?.subdivisions?.[0];
  return {
    city: text(r?.city?.names?.en),
    country: text(country?.names?.en),
    countryCode: text(country?.iso_code),
    isEu: country?.is_in_european_union === true,
    latitude: num(r?.location?.latitude),
    longitude: num(r?.location?.longitude),
    radius: num(r?.location?.accuracy_radius),
    postalCode: text(r?.postal?.code),
    subdivision: text(sub?.names?.en),
    subdivisionCode: text(sub?.iso_code),
  };
}

type DatabaseKind = "location" | "asn";

/** `GeoLite2-City`, `GeoIP2-Country`, `DBIP-City-Lite` → location; `GeoLite2-ASN`, `DBIP-ASN-Lite` → asn. */
function kindOf(databaseType: string): DatabaseKind | undefined {
  if (/\bASN\b|-ASN/i.test(databaseType)) return "asn";
  if (/city|country/i.test(databaseType)) return "location";
  return undefined;
}

function openReader(file: GeoipDatabaseFile): { kind: DatabaseKind; reader: Reader<never> } {
  let reader: Reader<never>;
  try {
    reader = new Reader<never>(file.bytes);
  } catch (err) {
    throw new OnrampError(ErrorCode.InvalidArgument, `GeoIP database ${file.name} is not a MaxMind DB (.mmdb) file: ${(err as Error).message}`, { cause: err });
  }
  const type = reader.metadata.databaseType;
  const kind = kindOf(type);
  if (!kind) {
    throw new OnrampError(ErrorCode.InvalidArgument, `GeoIP database ${file.name} has database_type ${JSON.stringify(type)}; expected a City, Country or ASN database`);
  }
  return { kind, reader };
}

/** Reads the address like a MaxMind reader wants it: no brackets, zone id or IPv4-mapped prefix. */
function bare(ip: string): string {
  const unbracketed = ip.startsWith("[") && ip.endsWith("]") ? ip.slice(1, -1) : ip;
  const noZone = unbracketed.split("%")[0] ?? "";
  return noZone.startsWith("::ffff:") && noZone.includes(".") ? noZone.slice(7) : noZone;
}

/**
 * Builds the lookups from database bytes and category lists. Throws an `INVALID_ARGUMENT`
 * OnrampError naming the file or category for a file that is not an .mmdb, an unknown
 * `database_type`, two databases of one kind, or a category entry that is not a CIDR.
 */
export function createIpIntelligence(init: IpIntelligenceInit): IpIntelligence {
  const readers: Partial<Record<DatabaseKind, { name: string; reader: Reader<never> }>> = {};
  for (const file of init.databases ?? []) {
    const { kind, reader } = openReader(file);
    const other = readers[kind];
    if (other) throw new OnrampError(ErrorCode.InvalidArgument, `GeoIP databases ${other.name} and ${file.name} are both ${kind === "asn" ? "ASN" : "City/Country"} databases; give one of each kind`);
    readers[kind] = { name: file.name, reader };
  }
  const categories = createIpCategories(init.categories ?? {});
  const get = <T>(kind: DatabaseKind, ip: string): T | undefined => {
    const r = readers[kind];
    if (!r) return undefined;
    try {
      return (r.reader.get(bare(ip)) as T | null) ?? undefined;
    } catch {
      // Not an address (a Unix socket peer, an empty string): nothing is known about it.
      return undefined;
    }
  };
  return {
    features: { location: readers.location !== undefined, asn: readers.asn !== undefined, categories: categories.names },
    location(ip) {
      const r = get<CityRecord>("location", ip);
      return r && { location: place(r.country, r), registeredLocation: place(r.registered_country, undefined) };
    },
    autonomousSystem(ip) {
      const r = get<AsnRecord>("asn", ip);
      return r && { number: num(r.autonomous_system_number) ?? 0, organization: text(r.autonomous_system_organization) };
    },
    categories: (ip) => categories.of(ip),
  };
}
