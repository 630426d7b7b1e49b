import { describe, expect, it } from "vitest";
import { randDouble, randInt } from "./random.js";
import { fields, isPrivateIp, lower, reverse, upper } from "./strings.js";

describe("lower / upper (Go's one-to-one case mapping)", () => {
  it("matches ngrok's examples", () => {
    expect(lower("Ärger in Österreich, ÉCOLE, İSTANBUL, ЙОГА!")).toBe("ärger in österreich, école, istanbul, йога!");
    expect(upper("Ärger in Österreich, ÉCOLE, İSTANBUL, ЙОГА!")).toBe("ÄRGER IN ÖSTERREICH, ÉCOLE, İSTANBUL, ЙОГА!");
  });

  it("maps each code point alone, as Go does", () => {
    expect(lower("ΟΔΟΣ")).toBe("οδοσ"); // JS's toLowerCase gives a final ς
    expect(upper("straße ﬁ")).toBe("STRAßE ﬁ"); // JS's toUpperCase gives STRASSE FI
    expect(lower("HELLO")).toBe("hello");
    expect(upper("héllo😀")).toBe("HÉLLO😀");
  });
});

describe("reverse", () => {
  it("reverses code points", () => {
    expect(reverse("gums")).toBe("smug");
    expect(reverse("John Smith")).toBe("htimS nhoJ");
    expect(reverse("a😀b")).toBe("b😀a");
  });
});

describe("split() without a separator (Go's strings.Fields)", () => {
  it("splits on runs of whitespace", () => {
    expect([...fields("hello mellow")]).toEqual(["hello", "mellow"]);
    expect([...fields("  a\t\nb\u00a0c  ")]).toEqual(["a", "b", "c"]);
    expect([...fields("")]).toEqual([]);
  });
});

describe("isPrivateIp", () => {
  it("is true for RFC 1918 and fc00::/7 addresses only", () => {
    for (const ip of ["10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1", "::ffff:10.1.2.3", "fd12:3456::1"]) expect(isPrivateIp(ip)).toBe(true);
    for (const ip of ["8.8.8.8", "172.32.0.1", "127.0.0.1", "::1", "fe80::1", "not an ip", "10.0.0.1/8", "", "010.0.0.1", "[fd00::1]", "fd00::1%eth0"]) {
      expect(isPrivateIp(ip)).toBe(false);
    }
  });
});

describe("rand", () => {
  it("rand.double is in [0, 1)", () => {
    for (let i = 0; i < 1000; i++) {
      const x = randDouble();
      expect(x >= 0 && x < 1).toBe(true);
    }
  });

  it("rand.int is in [min, max], both included", () => {
    const seen = new Set<bigint>();
    for (let i = 0; i < 200; i++) seen.add(randInt());
    expect([...seen].sort()).toEqual([0n, 1n]);
    for (let i = 0; i < 200; i++) {
      const x = randInt(5n, 7n);
      expect(x >= 5n && x <= 7n).toBe(true);
    }
    expect(randInt(3n, 3n)).toBe(3n);
    const big = randInt(0n, 2n ** 63n - 1n);
    expect(big >= 0n && big < 2n ** 63n).toBe(true);
  });

  it("refuses negative bounds and min > max", () => {
    expect(() => randInt(-1n, 5n)).toThrow(/non-negative/);
    expect(() => randInt(5n, 1n)).toThrow(/must not be larger/);
  });
});
