import { describe, expect, it } from "vitest";
import { crc32, crc64, digest, hashText, xxhash64 } from "./hash.js";
import { MAX_STRING_LENGTH } from "./limits.js";

/** XXH64 in plain BigInt arithmetic, straight from the specification, to check the 32-bit one. */
function xxh64Reference(b: Uint8Array, seed = 0n): bigint {
  const M = (1n << 64n) - 1n;
  const P1 = 0x9e3779b185ebca87n, P2 = 0xc2b2ae3d27d4eb4fn, P3 = 0x165667b19e3779f9n, P4 = 0x85ebca77c2b2ae63n, P5 = 0x27d4eb2f165667c5n;
  const rotl = (x: bigint, r: bigint): bigint => ((x << r) | (x >> (64n - r))) & M;
  const round = (acc: bigint, input: bigint): bigint => (rotl((acc + input * P2) & M, 31n) * P1) & M;
  const merge = (acc: bigint, v: bigint): bigint => (((acc ^ round(0n, v)) * P1) & M) + P4 & M;
  const view = new DataView(b.buffer, b.byteOffset, b.length);
  const len = b.length;
  let p = 0;
  let h: bigint;
  if (len >= 32) {
    let v1 = (seed + P1 + P2) & M, v2 = (seed + P2) & M, v3 = seed, v4 = (seed - P1) & M;
    for (; p + 32 <= len; p += 32) {
      v1 = round(v1, view.getBigUint64(p, true));
      v2 = round(v2, view.getBigUint64(p + 8, true));
      v3 = round(v3, view.getBigUint64(p + 16, true));
      v4 = round(v4, view.getBigUint64(p + 24, true));
    }
    h = (rotl(v1, 1n) + rotl(v2, 7n) + rotl(v3, 12n) + rotl(v4, 18n)) & M;
    for (const v of [v1, v2, v3, v4]) h = merge(h, v);
  } else {
    h = (seed + P5) & M;
  }
  h = (h + BigInt(len)) & M;
  for (; p + 8 <= len; p += 8) h = (((rotl(h ^ round(0n, view.getBigUint64(p, true)), 27n) * P1) & M) + P4) & M;
  if (p + 4 <= len) {
    h = (((rotl(h ^ ((BigInt(view.getUint32(p, true)) * P1) & M), 23n) * P2) & M) + P3) & M;
    p += 4;
  }
  for (; p < len; p++) h = (rotl(h ^ ((BigInt(b[p]!) * P5) & M), 11n) * P1) & M;
  h ^= h >> 33n;
  h = (h * P2) & M;
  h ^= h >> 29n;
  h = (h * P3) & M;
  h ^= h >> 32n;
  return h;
}

describe("crc32 (IEEE)", () => {
  it("matches the standard check values", () => {
    expect(crc32("123456789")).toBe(0xcbf43926);
    expect(crc32("")).toBe(0);
    expect(crc32("hello")).toBe(0x3610a686);
    expect(crc32("The quick brown fox jumps over the lazy dog")).toBe(0x414fa339);
  });
});

describe("crc64 (ISO, as Go's hash/crc64)", () => {
  it("matches CRC-64/GO-ISO check values and ngrok's documented example", () => {
    expect(crc64("123456789")).toBe(0xb90956c775a41001n);
    expect(crc64("")).toBe(0n);
    expect(crc64("hello")).toBe(0x3c3eeee2d8100000n);
  });
});

describe("xxhash64 (seed 0)", () => {
  it("matches known vectors", () => {
    expect(xxhash64("")).toBe(0xef46db3751d8e999n);
    expect(xxhash64("a")).toBe(0xd24ec4f1a98c6e5bn);
    expect(xxhash64("abc")).toBe(0x44bc2cf5ad770999n);
    expect(xxhash64("hello")).toBe(0x26c7827d889f6da3n);
    // 39 bytes: the 32-byte stripe loop, then an 8-byte lane, a 4-byte lane... (python-xxhash's README)
    expect(xxhash64("Nobody inspects the spammish repetition")).toBe(0xfbcea83c8a378bf1n);
  });

  it("agrees with a BigInt reference implementation on every length from 0 to 200", () => {
    let seed = 12345;
    const next = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
    for (let len = 0; len <= 200; len++) {
      const b = Uint8Array.from({ length: len }, next);
      expect(xxhash64(b)).toBe(xxh64Reference(b));
    }
  });
});

describe("hash.* digests and formats (ngrok's documented examples)", () => {
  const cases: Array<[Parameters<typeof hashText>[0], string, string]> = [
    ["crc32", "3610a686", "NhCmhg=="],
    ["crc64", "3c3eeee2d8100000", "PD7u4tgQAAA="],
    ["md5", "5d41402abc4b2a76b9719d911017c592", "XUFAKrxLKna5cZ2REBfFkg=="],
    ["sha1", "aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d", "qvTGHdzF6KLavt4PO0gs2a6pQ00="],
    ["sha256", "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", "LPJNul+wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ="],
    [
      "sha512",
      "9b71d224bd62f3785d96d46ad3ea3d73319bfbc2890caadae2dff72519673ca72323c3d99ba5c11d7c7acc6e14b8c5da0c4663475c2e5c3adef46f73bcdec043",
      "m3HSJL1i83hdltRq0+o9czGb+8KJDKra4t/3JRlnPKcjI8PZm6XBHXx6zG4UuMXaDEZjR1wuXDre9G9zvN7AQw==",
    ],
    ["xxhash64", "26c7827d889f6da3", "JseCfYifbaM="],
  ];
  it.each(cases)("%s('hello')", (algorithm, hex, base64) => {
    expect(hashText(algorithm, "hello")).toBe(hex);
    expect(hashText(algorithm, "hello", "hex")).toBe(hex);
    expect(hashText(algorithm, "hello", "base64")).toBe(base64);
    expect(hashText(algorithm, new TextEncoder().encode("hello"))).toBe(hex);
  });

  it("hashes a string's UTF-8 bytes", () => {
    expect(digest("crc32", "é")).toEqual(digest("crc32", new Uint8Array([0xc3, 0xa9])));
  });

  it("refuses an unknown format and input over 1 MiB", () => {
    expect(() => hashText("sha256", "x", "HEX")).toThrow(/unknown format/);
    expect(() => hashText("crc64", "x".repeat(MAX_STRING_LENGTH + 1))).toThrow(/over the limit of 1,048,576/);
    expect(hashText("xxhash64", "x".repeat(MAX_STRING_LENGTH))).toMatch(/^[0-9a-f]{16}$/);
  });
});
