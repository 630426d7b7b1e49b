import { encodeResponseHead } from "@onramp/mux";
import { createPolicyRuntime, writeMmdb } from "@onramp/policy";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { policyFrom, startPolicyProxy } from "./policy-proxy-fixture.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadIpIntelligence } from "./geoip-database.js";
import { resolveEdgeOptions } from "./options.js";

/**
 * GeoIP and IP categories on a real connection: the edge reads .mmdb files and a Tor exit list
 * from disk (geoip-database.ts), and a policy restricts by country through the proxy. The test
 * databases map the loopback address, which is where the test's client connects from.
 */

const POLICY = `
on_http_request:
  - name: no GB
    expressions: ["req.url.path == '/private' && conn.client_ip.geo.location.country_code == 'GB'"]
    actions: [{ type: deny, config: { status_code: 451 } }]
  - name: office only
    expressions: ["req.url.path == '/office'"]
    actions: [{ type: restrict-ips, config: { ip_policies: [office] } }]
  - expressions: ["req.url.path == '/who'"]
    actions:
      - type: custom-response
        config:
          status_code: 200
          body: "\${conn.geo.country_code} \${conn.client_ip.geo.location.city} AS\${string(conn.client_ip.as.number)} \${conn.client_ip.as.organization} tor=\${string(conn.client_ip.is_tor_node)}"
`;

const GB = { iso_code: "GB", names: { en: "United Kingdom" } };
const dir = mkdtempSync(join(tmpdir(), "onramp-geoip-"));
const closers: Array<() => void> = [() => rmSync(dir, { recursive: true, force: true })];
let port = 0;

beforeAll(async () => {
  const city = join(dir, "city.mmdb");
  const asn = join(dir, "asn.mmdb");
  const tor = join(dir, "tor-exits.txt");
  writeFileSync(city, writeMmdb({ databaseType: "GeoLite2-City", networks: [{ network: "127.0.0.0/8", data: { country: GB, city: { names: { en: "London" } } } }] }));
  writeFileSync(asn, writeMmdb({ databaseType: "GeoLite2-ASN", networks: [{ network: "127.0.0.1", data: { autonomous_system_number: 64500, autonomous_system_organization: "Loopback Ltd" } }] }));
  writeFileSync(tor, "# exit addresses\n127.0.0.1\n");
  const intel = loadIpIntelligence({ geoipDatabases: [city, asn], torExitNodes: tor });
  if (!intel) throw new Error("no IP intelligence loaded");

  const proxy = await startPolicyProxy({
    endpoints: { "http://app.test": policyFrom(POLICY, { ipIntelligence: intel.features, ipPolicies: { office: { allow: ["192.0.2.0/24"] } } }) },
    agent: (stream) => {
      stream.sendHead(encodeResponseHead({ status: 200, statusText: "OK", headers: ["content-length", "2"], body: Buffer.from("ok") }), true);
    },
    runtime: createPolicyRuntime({ ipIntelligence: intel }),
  });
  closers.push(proxy.close);
  port = proxy.port;
});

afterAll(() => {
  for (const c of closers.splice(0).reverse()) c();
});

function get(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, agent: false, headers: { host: "app.test" } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("GeoIP and IP categories at the edge", () => {
  it("restricts by the client's country from the GeoIP database", async () => {
    expect((await get("/private")).status).toBe(451);
    expect((await get("/public")).status).toBe(200);
  });

  it("fills the location, ASN and Tor variables from the files the edge read", async () => {
    expect(await get("/who")).toEqual({ status: 200, body: "GB London AS64500 Loopback Ltd tor=true" });
  });

  it("refuses a client outside a named IP policy of the edge config", async () => {
    expect((await get("/office")).status).toBe(403);
  });

  it("refuses bad GeoIP files and bad named IP policies at start, naming them", () => {
    const text = join(dir, "not.mmdb");
    writeFileSync(text, "not a database");
    expect(() => loadIpIntelligence({ geoipDatabases: [text] })).toThrow(/not\.mmdb is not a MaxMind DB/);
    expect(() => loadIpIntelligence({ geoipDatabases: [join(dir, "missing.mmdb")] })).toThrow(/geoip_db: cannot read .*missing\.mmdb/);
    expect(() => loadIpIntelligence({ ipCategories: { "blocklist.x": ["10.0.0.0/8", join(dir, "missing.txt")] } })).toThrow(/ip_categories\.blocklist\.x: cannot read/);
    expect(loadIpIntelligence({})).toBeUndefined();
    expect(() => resolveEdgeOptions({ allowAnyToken: true, ipPolicies: { office: { allow: ["10.0.0.0/33"] } } })).toThrow(/ipPolicies\.office\.allow\[0\].*not an IPv4 or IPv6 CIDR/);
  });
});
