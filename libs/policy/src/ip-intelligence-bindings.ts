import { STRING_FORM_KEY } from "./cel-types.js";
import type { ConnInfo } from "./context.js";
import type { AutonomousSystem, GeoPlace, IpIntelligence, IpLocation } from "./ip-intelligence.js";
import { type LazyFields, LazyRecord, lazyRecord } from "./lazy-record.js";

/**
 * The run-time values of `conn.client_ip.*` and `conn.geo.*` (types in ip-intelligence-types.ts).
 * A database is searched only when an expression reads one of its fields, and at most once per
 * connection info (one request, or one TCP connection), whichever phases and rules read it.
 * An address the data does not cover reads as empty strings, zeros and false, never an error.
 */

interface Facts {
  location?: IpLocation | null;
  as?: AutonomousSystem | null;
  categories?: readonly string[];
}

const cache = new WeakMap<ConnInfo, Facts>();

function factsOf(conn: ConnInfo): Facts {
  let f = cache.get(conn);
  if (!f) cache.set(conn, (f = {}));
  return f;
}

const EMPTY_PLACE: GeoPlace = {
  city: "",
  country: "",
  countryCode: "",
  isEu: false,
  latitude: undefined,
  longitude: undefined,
  radius: undefined,
  postalCode: "",
  subdivision: "",
  subdivisionCode: "",
};

function locationOf(conn: ConnInfo, intel: IpIntelligence | undefined): IpLocation | undefined {
  const f = factsOf(conn);
  if (f.location === undefined) f.location = intel?.location(conn.clientIp) ?? null;
  return f.location ?? undefined;
}

function asOf(conn: ConnInfo, intel: IpIntelligence | undefined): AutonomousSystem | undefined {
  const f = factsOf(conn);
  if (f.as === undefined) f.as = intel?.autonomousSystem(conn.clientIp) ?? null;
  return f.as ?? undefined;
}

function categoriesOf(conn: ConnInfo, intel: IpIntelligence | undefined): readonly string[] {
  const f = factsOf(conn);
  f.categories ??= intel?.categories(conn.clientIp) ?? [];
  return f.categories;
}

function placeRecord(get: () => GeoPlace): LazyRecord {
  return new LazyRecord({
    city: () => get().city,
    country: () => get().country,
    country_code: () => get().countryCode,
    is_eu: () => get().isEu,
    latitude: () => get().latitude ?? 0,
    longitude: () => get().longitude ?? 0,
    postal_code: () => get().postalCode,
    radius: () => BigInt(Math.round(get().radius ?? 0)),
    subdivision: () => get().subdivision,
    subdivision_code: () => get().subdivisionCode,
  });
}

/** What `conn.client_ip` and `conn.geo` read: the connection, and the edge's IP data if it has any. */
export interface IpSource {
  readonly conn: ConnInfo;
  readonly intel: IpIntelligence | undefined;
}

const CLIENT_IP_FIELDS: LazyFields<IpSource> = {
  [STRING_FORM_KEY]: (s) => s.conn.clientIp,
  geo: (s) =>
    new LazyRecord({
      location: () => placeRecord(() => locationOf(s.conn, s.intel)?.location ?? EMPTY_PLACE),
      registered_location: () => placeRecord(() => locationOf(s.conn, s.intel)?.registeredLocation ?? EMPTY_PLACE),
    }),
  as: (s) =>
    new LazyRecord({
      number: () => BigInt(asOf(s.conn, s.intel)?.number ?? 0),
      organization: () => asOf(s.conn, s.intel)?.organization ?? "",
    }),
  categories: (s) => [...categoriesOf(s.conn, s.intel)],
  is_tor_node: (s) => categoriesOf(s.conn, s.intel).includes("proxy.anonymous.tor"),
  is_on_blocklist: (s) => categoriesOf(s.conn, s.intel).includes("blocklist"),
};

/** `conn.client_ip`: the address as a string, with ngrok's IP intelligence fields. */
export function clientIpBindings(source: IpSource): LazyRecord {
  return lazyRecord(CLIENT_IP_FIELDS, source);
}

const num = (n: number | undefined) => (n === undefined ? "" : String(n));
const placeOf = (s: IpSource) => locationOf(s.conn, s.intel)?.location ?? EMPTY_PLACE;

const LEGACY_GEO_FIELDS: LazyFields<IpSource> = {
  city: (s) => placeOf(s).city,
  country: (s) => placeOf(s).country,
  country_code: (s) => placeOf(s).countryCode,
  latitude: (s) => num(placeOf(s).latitude),
  longitude: (s) => num(placeOf(s).longitude),
  postal_code: (s) => placeOf(s).postalCode,
  radius: (s) => num(placeOf(s).radius),
  subdivision: (s) => placeOf(s).subdivision,
};

/** `conn.geo`: ngrok's older location variables, every one a string ("" when unknown). */
export function legacyGeoBindings(source: IpSource): LazyRecord {
  return lazyRecord(LEGACY_GEO_FIELDS, source);
}
