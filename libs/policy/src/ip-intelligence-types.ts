import { BOOL, INT, STRING, type Ty, listOf, prim, record, unsupported } from "./cel-types.js";
import type { IpIntelligenceFeatures } from "./ip-intelligence.js";

/**
 * The CEL types of ngrok's IP intelligence variables (`conn.client_ip.*`, `conn.geo.*`), as
 * ip-intelligence-bindings.ts builds them. Each group the edge has no data for is `unsupported`,
 * so a policy that reads it fails when it loads, saying which flag would provide it.
 */

/** What an edge without GeoIP databases or categories offers: none of these variables. */
export const NO_IP_INTELLIGENCE: IpIntelligenceFeatures = { location: false, asn: false, categories: [] };

const DOUBLE = prim("double");
const NO_LOCATION_DB =
  "the edge has no GeoIP database (--geoip-db, or geoip_db in the edge config, with a City or Country .mmdb file)";

const placeType = (name: string): Ty =>
  record(name, {
    city: STRING,
    country: STRING,
    country_code: STRING,
    is_eu: BOOL,
    latitude: DOUBLE,
    longitude: DOUBLE,
    postal_code: STRING,
    radius: INT,
    subdivision: STRING,
    subdivision_code: STRING,
  });

const GEO = record("conn.client_ip.geo", {
  location: placeType("conn.client_ip.geo.location"),
  registered_location: placeType("conn.client_ip.geo.registered_location"),
});
const AS = record("conn.client_ip.as", { number: INT, organization: STRING });

/** `conn.geo`: ngrok's older names, all strings. */
const LEGACY_GEO = record("conn.geo", {
  city: STRING,
  country: STRING,
  country_code: STRING,
  latitude: STRING,
  longitude: STRING,
  postal_code: STRING,
  radius: STRING,
  subdivision: STRING,
});

/** `conn.client_ip`: the address as a string, with the fields the edge's data allows. */
export function clientIpType(f: IpIntelligenceFeatures): Ty {
  const hasCategories = f.categories.length > 0;
  return record(
    "conn.client_ip",
    {
      geo: f.location ? GEO : unsupported(`conn.client_ip.geo is not available: ${NO_LOCATION_DB}`),
      as: f.asn
        ? AS
        : unsupported("conn.client_ip.as is not available: the edge has no ASN database (--geoip-db, or geoip_db in the edge config, with an ASN .mmdb file)"),
      categories: hasCategories
        ? listOf(STRING)
        : unsupported("conn.client_ip.categories is not available: the edge has no IP categories (ip_categories in the edge config, or --tor-exit-nodes)"),
      is_tor_node: f.categories.some((c) => c === "proxy.anonymous.tor")
        ? BOOL
        : unsupported("conn.client_ip.is_tor_node is not available: the edge has no Tor exit node list (--tor-exit-nodes, or tor_exit_nodes in the edge config)"),
      is_on_blocklist: f.categories.some((c) => c === "blocklist" || c.startsWith("blocklist."))
        ? BOOL
        : unsupported("conn.client_ip.is_on_blocklist is not available: the edge config has no ip_categories named blocklist or blocklist.*"),
    },
    { stringForm: true },
  );
}

/** `conn.geo`, ngrok's older location variables. */
export function legacyGeoType(f: IpIntelligenceFeatures): Ty {
  return f.location ? LEGACY_GEO : unsupported(`conn.geo is not available: ${NO_LOCATION_DB}`);
}
