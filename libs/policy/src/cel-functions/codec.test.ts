import { celMap } from "@bufbuild/cel";
import { describe, expect, it } from "vitest";
import {
  base64Decode,
  base64DecodeToString,
  base64Encode,
  basicAuthEncode,
  compareCodePoints,
  isQueryString,
  isUrl,
  parseUrl,
  queryEscape,
  queryStringDecode,
  queryStringEncode,
  queryUnescape,
} from "./codec.js";
import { MAX_STRING_LENGTH } from "./limits.js";

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

describe("base64", () => {
  it("decodes padded standard base64 and refuses the rest (ngrok's examples)", () => {
    expect(base64Decode("aGVsbG8=")).toEqual(bytes("hello"));
    expect(() => base64Decode("aGVsbG8")).toThrow(/illegal base64/);
    expect(() => base64Decode("aGV sbG8=")).toThrow(/illegal base64/);
    expect(() => base64Decode("aGVsbG8_")).toThrow(/illegal base64/);
    expect(() => base64Decode("aG=sbG8=")).toThrow(/illegal base64/);
    expect(base64Decode("aGVs\r\nbG8=")).toEqual(bytes("hello"));
    expect(base64Decode("")).toEqual(new Uint8Array());
  });

  it("encodes bytes and strings", () => {
    expect(base64Encode(bytes("hello"))).toBe("aGVsbG8=");
    expect(base64Encode("some:thing")).toBe("c29tZTp0aGluZw==");
    expect(base64DecodeToString("c29tZTp0aGluZw==")).toBe("some:thing");
    expect(base64Encode("é")).toBe("w6k=");
  });

  it("builds Basic credentials", () => {
    expect(basicAuthEncode("username", "password1")).toBe("Basic dXNlcm5hbWU6cGFzc3dvcmQx");
  });

  it("refuses input over 1 MiB", () => {
    expect(() => base64Encode("a".repeat(MAX_STRING_LENGTH + 1))).toThrow(/base64.encode: input is 1,048,577 characters/);
    expect(() => base64Decode("A".repeat(MAX_STRING_LENGTH + 4))).toThrow(/over the limit/);
  });
});

describe("url.escape / url.unescape (Go's QueryEscape / QueryUnescape)", () => {
  it("matches ngrok's example and Go's escaping", () => {
    expect(queryEscape("i;md/r/$y")).toBe("i%3Bmd%2Fr%2F%24y");
    expect(queryEscape("a b+c")).toBe("a+b%2Bc");
    expect(queryEscape("AZaz09-_.~!*'()")).toBe("AZaz09-_.~%21%2A%27%28%29");
    expect(queryEscape("é😀")).toBe("%C3%A9%F0%9F%98%80");
    expect(queryUnescape("i%3Bmd%2Fr%2F%24y")).toBe("i;md/r/$y");
    expect(queryUnescape("a+b%2bc")).toBe("a b+c");
    expect(queryUnescape("%C3%A9%F0%9F%98%80")).toBe("é😀");
  });

  it("refuses malformed escapes", () => {
    expect(() => queryUnescape("%")).toThrow(/invalid URL escape "%"/);
    expect(() => queryUnescape("a%2")).toThrow(/invalid URL escape/);
    expect(() => queryUnescape("%zz")).toThrow(/invalid URL escape "%zz"/);
  });

  it("refuses a result over 1 MiB", () => {
    expect(() => queryEscape("/".repeat(400_000))).toThrow(/result would be longer/);
    expect(queryEscape("a".repeat(MAX_STRING_LENGTH))).toHaveLength(MAX_STRING_LENGTH);
  });
});

describe("query strings", () => {
  it("decodes to the first value of each key", () => {
    expect(queryStringDecode("a=b&c=d")).toEqual(new Map([["a", "b"], ["c", "d"]]));
    expect(queryStringDecode("q=hello+world&q=2&x&&y=%2F")).toEqual(new Map([["q", "hello world"], ["x", ""], ["y", "/"]]));
    expect(queryStringDecode("")).toEqual(new Map());
    expect(() => queryStringDecode("a=b;c=d")).toThrow(/semicolon/);
    expect(() => queryStringDecode("a=%zz")).toThrow(/invalid URL escape/);
  });

  it("encodes sorted by key, lists as repeated keys", () => {
    expect(queryStringEncode(celMap(new Map([["c", "d"], ["a", "b"]])))).toBe("a=b&c=d");
    expect(queryStringEncode(celMap(new Map<string, unknown>([["q", "policy rules"], ["n", 2n], ["l", ["x", "y&z"]]]) as never))).toBe(
      "l=x&l=y%26z&n=2&q=policy+rules",
    );
    expect(() => queryStringEncode(celMap(new Map([["m", new Map([["a", "b"]])]]) as never))).toThrow(/values must be/);
  });

  it("tells query strings from other text", () => {
    expect(isQueryString("a=b&c=d")).toBe(true);
    expect(isQueryString("a=&b=%20")).toBe(true);
    expect(isQueryString("not a query string")).toBe(false);
    expect(isQueryString("")).toBe(false);
    expect(isQueryString("a=b&c")).toBe(false);
    expect(isQueryString("a=%zz")).toBe(false);
  });
});

describe("url.parse", () => {
  it("splits a URL into its parts", () => {
    expect(parseUrl("https://ngrok.com")).toMatchObject({ scheme: "https", host: "ngrok.com", hostname: "ngrok.com", port: "", path: "" });
    expect(parseUrl("HTTP://u%40x:p%3A@[::1]:8080/a%20b/c?x=1&y=2#frag%21")).toEqual({
      scheme: "http",
      opaque: "",
      user: "u@x",
      password: "p:",
      host: "[::1]:8080",
      hostname: "::1",
      port: "8080",
      path: "/a b/c",
      raw_path: "/a%20b/c",
      raw_query: "x=1&y=2",
      fragment: "frag!",
    });
    expect(parseUrl("/just/a/path?q")).toMatchObject({ scheme: "", host: "", path: "/just/a/path", raw_query: "q" });
    expect(parseUrl("mailto:someone@example.com")).toMatchObject({ scheme: "mailto", opaque: "someone@example.com" });
  });

  it("refuses what Go's url.Parse refuses", () => {
    expect(() => parseUrl(":foo")).toThrow(/missing protocol scheme/);
    expect(() => parseUrl("1http://x")).toThrow(/first path segment/);
    expect(() => parseUrl("http://host:port/")).toThrow(/invalid port/);
    expect(() => parseUrl("http://a b/")).toThrow(/invalid character in host/);
    expect(() => parseUrl("http://x/\n")).toThrow(/control character/);
    expect(() => parseUrl("http://x/%zz")).toThrow(/invalid URL escape/);
  });

  it("tells absolute URLs from other text", () => {
    expect(isUrl("https://ngrok.com")).toBe(true);
    expect(isUrl("ftp://files.example.com/a")).toBe(true);
    expect(isUrl("urn:isbn:0451450523")).toBe(true);
    expect(isUrl("not a url")).toBe(false);
    expect(isUrl("/path")).toBe(false);
    expect(isUrl("https://")).toBe(false);
    expect(isUrl("http://host:port")).toBe(false);
  });
});

describe("compareCodePoints", () => {
  it("orders by code point where UTF-16 order differs", () => {
    expect(compareCodePoints("\uffff", "😀")).toBeLessThan(0); // U+FFFF < U+1F600
    expect("\uffff" < "😀").toBe(false); // JS's own order
    expect(compareCodePoints("a", "b")).toBeLessThan(0);
    expect(compareCodePoints("ab", "a")).toBeGreaterThan(0);
    expect(compareCodePoints("x", "x")).toBe(0);
  });
});
