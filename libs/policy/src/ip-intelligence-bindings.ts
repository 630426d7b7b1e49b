import { STRING_FORM_KEY } from "./cel-types.js";
import type { ConnInfo } from "./context.js";
import type { AutonomousSystem, GeoPlace, IpIntelligence, IpLocation } from "./ip-intelligence.js";
import { LazyRecord } from "./lazy-record.js";

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

/** `conn.client_ip`: the address as a string, with ngrok's IP intelligence fields. */
export function clientIpBindings(conn: ConnInfo, intel: IpIntelligence | undefined): LazyRecord {
  const location = () => locationOf(conn, intel)?.location ?? EMPTY_PLACE;
  const registered = () => locationOf(conn, intel)?.registeredLocation ?? EMPTY_PLACE;
  const categories = () => categoriesOf(conn, intel);
  return new LazyRecord({
    [STRING_FORM_KEY]: () => conn.clientIp,
    geo: () => new LazyRecord({ location: () => placeRecord(location), registered_location: () => placeRecord(registered) }),
    as: () =>
      new LazyRecord({
        number: () => BigInt(asOf(conn, intel)?.number ?? 0),
        organization: () => asOf(conn, intel)?.organization ?? "",
      }),
    categories: () => [...categories()],
    is_tor_node: () => categories().includes("proxy.anonymous.tor"),
    is_on_blocklist: () => categories().includes("blocklist"),
  });
}

/** `conn.geo`: ngrok's older location variables, every one a string ("" when unknown). */
export function legacyGeoBindings(conn: ConnInfo, intel: IpIntelligence | undefined): LazyRecord {
  const place = () => locationOf(conn, intel)?.location ?? EMPTY_PLACE;
  const num = (n: number | undefined) => (n === undefined ? "" : String(n));
  return new LazyRecord({
    city: () => place().city,
    country: () => place().country,
    country_code: () => place().countryCode,
    latitude: () => num(place().latitude),
    longitude: () => num(place().longitude),
    postal_code: () => place().postalCode,
    radius: () => num(place().radius),
    subdivision: () => place().subdivision,
  });
}
