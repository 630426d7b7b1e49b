import { describe, expect, it } from "vitest";
import { cidrContains, parseCidr, parseIp } from "./cidr.js";

describe("CIDR matching", () => {
  const cases: Array<[string, string, boolean]> = [
    ["10.0.0.0/8", "10.255.1.2", true],
    ["10.0.0.0/8", "11.0.0.1", false],
    ["192.168.1.0/24", "192.168.1.255", true],
    ["192.168.1.0/24", "192.168.2.0", false],
    ["0.0.0.0/0", "8.8.8.8", true],
    ["0.0.0.0/0", "2001:db8::1", false],
    ["1.2.3.4", "1.2.3.4", true],
    ["1.2.3.4", "1.2.3.5", false],
    ["1.2.3.4/32", "::ffff:1.2.3.4", true],
    ["2001:db8::/32", "2001:db8:ffff::1", true],
    ["2001:db8::/32", "2001:db9::", false],
    ["::/0", "::1", true],
    ["::1/128", "::1", true],
    ["fe80::/10", "fe80::1%eth0", true],
    ["2001:db8:0:0:0:0:0:0/64", "2001:db8::abcd", true],
    ["::ffff:0:0/96", "10.0.0.1", true],
  ];
  it.each(cases)("%s contains %s: %s", (cidr, ip, expected) => {
    const c = parseCidr(cidr);
    const a = parseIp(ip);
    expect(c).toBeDefined();
    expect(a).toBeDefined();
    expect(cidrContains(c!, a!)).toBe(expected);
  });

  it("rejects malformed input", () => {
    for (const bad of ["10.0.0.0/33", "256.0.0.0/8", "1.2.3/24", "01.2.3.4", "::1/129", "1:2:3:4:5:6:7:8:9", "1::2::3", "abc", "10.0.0.0/x", ""]) {
      expect(parseCidr(bad), bad).toBeUndefined();
    }
    for (const bad of ["1.2.3.256", "g::1", "1.2.3.4.5", ":1"]) expect(parseIp(bad), bad).toBeUndefined();
  });
});
