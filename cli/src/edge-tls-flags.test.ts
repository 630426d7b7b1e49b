import { describe, expect, it } from "vitest";
import { edgeTlsOptionsFrom, type EdgeTlsInput } from "./edge-tls-flags.js";

const none: EdgeTlsInput = { certFlags: undefined, keyFlags: undefined, configCertificates: undefined, configPath: undefined, hsts: undefined };

describe("onramp edge TLS settings", () => {
  it("pairs --tls-cert and --tls-key by position, and refuses unequal counts", () => {
    expect(edgeTlsOptionsFrom({ ...none, certFlags: ["a.crt", "b.crt"], keyFlags: ["a.key", "b.key"] }).tlsCertificates).toEqual([
      { cert: "a.crt", key: "a.key" },
      { cert: "b.crt", key: "b.key" },
    ]);
    expect(() => edgeTlsOptionsFrom({ ...none, certFlags: ["a.crt", "b.crt"], keyFlags: ["a.key"] })).toThrow("got 2 --tls-cert and 1 --tls-key");
  });

  it("reads tls_certificates relative to the config file, replaced whole by flags", () => {
    const config = { ...none, configPath: "/etc/onramp/edge.yml", configCertificates: [{ cert: "e.crt", key: "/abs/e.key" }] };
    expect(edgeTlsOptionsFrom(config).tlsCertificates).toEqual([{ cert: "/etc/onramp/e.crt", key: "/abs/e.key" }]);
    expect(edgeTlsOptionsFrom({ ...config, certFlags: ["f.crt"], keyFlags: ["f.key"] }).tlsCertificates).toEqual([{ cert: "f.crt", key: "f.key" }]);
  });

  it("refuses a malformed tls_certificates, naming the entry", () => {
    expect(() => edgeTlsOptionsFrom({ ...none, configPath: "edge.yml", configCertificates: "x.crt" })).toThrow("edge.yml: tls_certificates must be a list of {cert, key}");
    expect(() => edgeTlsOptionsFrom({ ...none, configPath: "edge.yml", configCertificates: [{ cert: "x.crt" }] })).toThrow("tls_certificates[0]: needs cert and key");
    expect(() => edgeTlsOptionsFrom({ ...none, configPath: "edge.yml", configCertificates: [{ cert: "x", key: "y", chain: "z" }] })).toThrow('unknown key "chain"');
  });

  it("takes --hsts as a duration in days or less, in whole seconds", () => {
    expect(edgeTlsOptionsFrom({ ...none, hsts: { value: "180d", from: "--hsts" } }).hstsMaxAgeSeconds).toBe(15_552_000);
    expect(edgeTlsOptionsFrom({ ...none, hsts: { value: 0, from: "hsts" } }).hstsMaxAgeSeconds).toBe(0);
    expect(() => edgeTlsOptionsFrom({ ...none, hsts: { value: "180", from: "--hsts" } })).toThrow("--hsts: \"180\" needs a unit");
    expect(edgeTlsOptionsFrom(none)).toEqual({ tlsCertificates: undefined, hstsMaxAgeSeconds: undefined });
  });
});
