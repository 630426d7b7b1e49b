import { type AsnResponse, type CityResponse, Reader } from "maxmind";
import { describe, expect, it } from "vitest";
import { type IpIntelligence, createIpIntelligence } from "./ip-intelligence.js";
import { parseIpListFile } from "./ip-intelligence-categories.js";
import { writeMmdb } from "./mmdb-writer.js";
import { createPolicyRuntime } from "./runtime.js";
import { errorsOf, policyOf, request } from "./test-fixtures.js";

const names = (en: string) => ({ en, de: en });
const GB = { geoname_id: 2635167, iso_code: "GB", names: names("United Kingdom"), is_in_european_union: false };
const LONDON = {
  city: { geoname_id: 2643743, names: names("London") },
  continent: { code: "EU", geoname_id: 6255148, names: names("Europe") },
  country: GB,
  registered_country: { geoname_id: 3017382, iso_code: "FR", names: names("France"), is_in_european_union: true },
  location: { accuracy_radius: 100, latitude: 51.5142, longitude: -0.0931, time_zone: "Europe/London" },
  postal: { code: "EC2V" },
  subdivisions: [{ geoname_id: 6269131, iso_code: "ENG", names: names("England") }],
};

export const CITY_DB = writeMmdb({
  databaseType: "GeoLite2-City",
  networks: [
    { network: "81.2.69.0/24", data: LONDON },
    { network: "81.2.69.160/27", data: { ...LONDON, postal: { code: "W1" } } },
    { network: "2.125.160.216/29", data: { country: GB, registered_country: GB, location: { accuracy_radius: 100, latitude: 51.75, longitude: -1.25 } } },
    { network: "2001:db8::/32", data: { country: { geoname_id: 2921044, iso_code: "DE", names: names("Germany"), is_in_european_union: true } } },
  ],
});
export const ASN_DB = writeMmdb({
  databaseType: "GeoLite2-ASN",
  networks: [{ network: "1.128.0.0/11", data: { autonomous_system_number: 1221, autonomous_system_organization: "Telstra Pty Ltd" } }],
});

describe("the MaxMind DB writer", () => {
  it("writes files the maxmind reader reads, with the most specific network winning", () => {
    const city = new Reader<CityResponse>(CITY_DB);
    expect(city.metadata.databaseType).toBe("GeoLite2-City");
    expect(city.metadata.ipVersion).toBe(6);
    expect(city.get("81.2.69.142")?.city?.names.en).toBe("London");
    expect(city.get("81.2.69.142")?.postal?.code).toBe("EC2V");
    expect(city.get("81.2.69.170")?.postal?.code).toBe("W1");
    expect(city.get("81.2.69.142")?.location?.latitude).toBe(51.5142);
    expect(city.get("2.125.160.218")?.country?.iso_code).toBe("GB");
    expect(city.get("2.125.160.224")).toBeNull();
    expect(city.get("2001:db8::1")?.country?.iso_code).toBe("DE");
    expect(city.get("10.0.0.1")).toBeNull();
    const asn = new Reader<AsnResponse>(ASN_DB);
    expect(asn.get("1.130.2.3")).toEqual({ autonomous_system_number: 1221, autonomous_system_organization: "Telstra Pty Ltd" });
    expect(asn.get("1.160.0.0")).toBeNull();
  });
});

describe("createIpIntelligence", () => {
  it("tells City and ASN databases apart by their database_type, and refuses anything else", () => {
    const intel = createIpIntelligence({ databases: [{ name: "asn.mmdb", bytes: ASN_DB }, { name: "city.mmdb", bytes: CITY_DB }] });
    expect(intel.features).toEqual({ location: true, asn: true, categories: [] });
    expect(intel.location("::ffff:81.2.69.142")?.location.countryCode).toBe("GB");
    expect(intel.location("81.2.69.142")?.registeredLocation.countryCode).toBe("FR");
    expect(intel.autonomousSystem("1.128.0.1")).toEqual({ number: 1221, organization: "Telstra Pty Ltd" });
    expect(intel.location("not an ip")).toBeUndefined();
    const other = writeMmdb({ databaseType: "GeoIP2-Anonymous-IP", networks: [] });
    expect(() => createIpIntelligence({ databases: [{ name: "anon.mmdb", bytes: other }] })).toThrow(/anon\.mmdb has database_type "GeoIP2-Anonymous-IP"/);
    expect(() => createIpIntelligence({ databases: [{ name: "a.mmdb", bytes: CITY_DB }, { name: "b.mmdb", bytes: CITY_DB }] })).toThrow(/a\.mmdb and b\.mmdb are both City/);
    expect(() => createIpIntelligence({ databases: [{ name: "x.txt", bytes: Buffer.from("hello") }] })).toThrow(/x\.txt is not a MaxMind DB/);
  });

  it("lists categories with their ancestors and rejects bad entries naming them", () => {
    const intel = createIpIntelligence({ categories: { "proxy.anonymous.tor": parseIpListFile("# exits\n185.220.101.1\n\n2001:db8::9 # v6\n"), "blocklist.local": ["192.0.2.0/24"] } });
    expect(intel.categories("185.220.101.1")).toEqual(["proxy", "proxy.anonymous", "proxy.anonymous.tor"]);
    expect(intel.categories("2001:db8::9")).toContain("proxy.anonymous.tor");
    expect(intel.categories("192.0.2.77")).toEqual(["blocklist", "blocklist.local"]);
    expect(intel.categories("198.51.100.1")).toEqual([]);
    expect(() => createIpCategoriesWith({ tor: ["1.2.3.4", "nope"] })).toThrow(/ip_categories\.tor\[1\]: "nope" is not/);
    expect(() => createIpCategoriesWith({ "Bad Name": [] })).toThrow(/"Bad Name" is not a category name/);
  });
});

const createIpCategoriesWith = (categories: Record<string, string[]>) => createIpIntelligence({ categories });

const GEO_POLICY = `
on_http_request:
  - actions:
      - type: custom-response
        config:
          status_code: 200
          body: "\${conn.client_ip.geo.location.country_code}|\${conn.client_ip.geo.location.city}|\${conn.client_ip.geo.location.subdivision_code}|\${string(conn.client_ip.geo.location.latitude)}|\${string(conn.client_ip.geo.location.radius)}|\${string(conn.client_ip.geo.location.is_eu)}|\${conn.client_ip.geo.registered_location.country_code}|\${conn.geo.country}|\${conn.geo.latitude}|\${conn.geo.postal_code}|\${string(conn.client_ip.as.number)}|\${conn.client_ip.as.organization}|\${string(conn.client_ip.is_tor_node)}|\${conn.client_ip.categories.join(',')}|\${string(conn.client_ip.is_on_blocklist)}|\${conn.client_ip}"
`;

function counting(intel: IpIntelligence): IpIntelligence & { calls: number } {
  const wrapped = {
    calls: 0,
    features: intel.features,
    location: (ip: string) => (wrapped.calls++, intel.location(ip)),
    autonomousSystem: (ip: string) => (wrapped.calls++, intel.autonomousSystem(ip)),
    categories: (ip: string) => (wrapped.calls++, intel.categories(ip)),
  };
  return wrapped;
}

describe("the IP intelligence variables", () => {
  const intel = createIpIntelligence({
    databases: [{ name: "city.mmdb", bytes: CITY_DB }, { name: "asn.mmdb", bytes: ASN_DB }],
    categories: { "proxy.anonymous.tor": ["81.2.69.142"], "blocklist.example": ["1.128.0.0/16"] },
  });
  const body = async (clientIp: string, ip: IpIntelligence = intel) => {
    const policy = policyOf(GEO_POLICY, { ipIntelligence: ip.features });
    const out = await policy.onHttpRequest(request({ clientIp }), createPolicyRuntime({ ipIntelligence: ip }));
    return out.kind === "respond" ? String(out.body) : out.kind;
  };

  it("read the databases and the categories with ngrok's names and types", async () => {
    expect(await body("81.2.69.142")).toBe("GB|London|ENG|51.5142|100|false|FR|United Kingdom|51.5142|EC2V|0||true|proxy,proxy.anonymous,proxy.anonymous.tor|false|81.2.69.142");
    expect(await body("1.128.0.9")).toBe("|||0|0|false|||||1221|Telstra Pty Ltd|false|blocklist,blocklist.example|true|1.128.0.9");
  });

  it("read as empty strings, zeros and false for a private address, never as an error", async () => {
    expect(await body("10.1.2.3")).toBe("|||0|0|false|||||0||false||false|10.1.2.3");
  });

  it("search each database at most once per request, and only when an expression reads it", async () => {
    const spy = counting(intel);
    const policy = policyOf(
      `on_http_request:
  - expressions: ["conn.client_ip.geo.location.country_code == 'GB'", "conn.client_ip.geo.location.city == 'London'"]
    actions: [{ type: deny }]
  - expressions: ["conn.geo.country_code == 'GB'"]
    actions: [{ type: deny }]`,
      { ipIntelligence: spy.features },
    );
    expect((await policy.onHttpRequest(request({ clientIp: "81.2.69.142" }), createPolicyRuntime({ ipIntelligence: spy }))).kind).toBe("respond");
    expect(spy.calls).toBe(1);
    const unused = policyOf(`on_http_request:\n  - expressions: ["req.method == 'POST'"]\n    actions: [{ type: deny }]`, { ipIntelligence: spy.features });
    await unused.onHttpRequest(request({ clientIp: "81.2.69.142" }), createPolicyRuntime({ ipIntelligence: spy }));
    expect(spy.calls).toBe(1);
  });

  it("fail at load, saying what the edge lacks, when it has no data for them", () => {
    const rule = (expr: string) => `on_http_request:\n  - expressions: ["${expr}"]\n    actions: [{ type: deny }]`;
    expect(errorsOf(rule("conn.client_ip.geo.location.country_code == 'GB'"))).toMatch(/expressions\[0\].*the edge has no GeoIP database \(--geoip-db/);
    expect(errorsOf(rule("conn.geo.country_code == 'GB'"))).toMatch(/conn\.geo is not available: the edge has no GeoIP database/);
    expect(errorsOf(rule("conn.client_ip.as.number == 1221"))).toMatch(/the edge has no ASN database/);
    expect(errorsOf(rule("conn.client_ip.is_tor_node"))).toMatch(/no Tor exit node list \(--tor-exit-nodes/);
    expect(errorsOf(rule("'x' in conn.client_ip.categories"))).toMatch(/no IP categories/);
    const cityOnly = { location: true, asn: false, categories: [] };
    expect(errorsOf(rule("conn.client_ip.as.number == 1221"), { ipIntelligence: cityOnly })).toMatch(/no ASN database/);
    expect(errorsOf(rule("conn.client_ip.geo.location.country_code == 1"), { ipIntelligence: cityOnly })).toMatch(/comparing a string with a int/);
    expect(errorsOf(rule("conn.client_ip.geo.location.nope == ''"), { ipIntelligence: cityOnly })).toMatch(/unknown variable 'conn.client_ip.geo.location.nope'/);
  });
});

describe("restrict-ips with named IP policies", () => {
  const ipPolicies = { office: { allow: ["81.2.69.0/24"] }, bad: { deny: ["1.128.0.0/11"] } };
  const policy = (names: string) => `on_http_request:\n  - name: gate\n    actions:\n      - type: restrict-ips\n        config:\n          ip_policies: ${names}`;

  it("allow and deny by the edge's named policies", async () => {
    const p = policyOf(policy(`["office", "bad"]`), { ipPolicies });
    const rt = createPolicyRuntime();
    expect((await p.onHttpRequest(request({ clientIp: "81.2.69.1" }), rt)).kind).toBe("continue");
    const refused = await p.onHttpRequest(request({ clientIp: "1.128.0.1" }), rt);
    expect(refused.kind === "respond" && refused.status).toBe(403);
    expect((await p.onHttpRequest(request({ clientIp: "198.51.100.1" }), rt)).kind).toBe("respond");
  });

  it("fail at load on an unknown name, naming the rule, action and field", () => {
    expect(errorsOf(policy(`["office", "home"]`), { ipPolicies })).toMatch(
      /on_http_request\[0\] "gate": actions\[0\]\.config\.ip_policies\[1\]: unknown IP policy "home" \(the edge defines: office, bad\)/,
    );
    expect(errorsOf(policy(`["office"]`))).toMatch(/unknown IP policy "office" \(the edge config defines no ip_policies\)/);
  });
});
