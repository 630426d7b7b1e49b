import { timestampMs, durationMs, type Duration, type Timestamp } from "@bufbuild/protobuf/wkt";
import type { ReflectMessage } from "@bufbuild/protobuf/reflect";
import { describe, expect, it } from "vitest";
import { parseSetCookie, parseSetCookies } from "./set-cookie.js";

const ms = (m: ReflectMessage) => timestampMs(m.message as Timestamp);
const seconds = (m: ReflectMessage) => durationMs(m.message as Duration) / 1000;

describe("Set-Cookie parsing (res.cookies, getResCookie)", () => {
  it("reads every attribute ngrok names", () => {
    const c = parseSetCookie('sid="abc"; Path=/app; Domain=example.com; Expires=Wed, 21 Oct 2026 07:28:00 GMT; Max-Age=3600; Secure; HttpOnly; SameSite=strict; Priority=High; Partitioned');
    expect(c).toMatchObject({ name: "sid", value: "abc", path: "/app", domain: "example.com", secure: true, http_only: true, same_site: "Strict" });
    expect(ms(c!.expires)).toBe(Date.UTC(2026, 9, 21, 7, 28));
    expect(seconds(c!.max_age)).toBe(3600);
    expect(Object.fromEntries(c!.unparsed_attributes)).toEqual({ Priority: "High", Partitioned: "" });
  });

  it("gives missing attributes Go's zero values, as ngrok does", () => {
    const c = parseSetCookie("a=1")!;
    expect(c).toMatchObject({ name: "a", value: "1", path: "", domain: "", secure: false, http_only: false, same_site: "" });
    expect(new Date(ms(c.expires)).toISOString()).toBe("0001-01-01T00:00:00.000Z");
    expect(seconds(c.max_age)).toBe(0);
  });

  it("reads Max-Age 0 or less as -1s (delete now) and ignores a malformed one", () => {
    expect(seconds(parseSetCookie("a=1; Max-Age=0")!.max_age)).toBe(-1);
    expect(seconds(parseSetCookie("a=1; Max-Age=-5")!.max_age)).toBe(-1);
    expect(seconds(parseSetCookie("a=1; Max-Age=012")!.max_age)).toBe(0);
    expect(seconds(parseSetCookie("a=1; Max-Age=soon")!.max_age)).toBe(0);
  });

  it("ignores an Expires that is not a date and an unknown SameSite", () => {
    const c = parseSetCookie("a=1; Expires=never; SameSite=sometimes")!;
    expect(new Date(ms(c.expires)).toISOString()).toBe("0001-01-01T00:00:00.000Z");
    expect(c.same_site).toBe("");
  });

  it("drops a header without name=value", () => {
    expect(parseSetCookie("novalue; Path=/")).toBeUndefined();
    expect(parseSetCookie("=x")).toBeUndefined();
  });

  it("groups by name, longest path first", () => {
    const cookies = parseSetCookies(["a=root; Path=/", "b=2", "a=deep; Path=/x/y", "a=mid; Path=/x"]);
    expect(cookies.get("a")!.map((c) => c.value)).toEqual(["deep", "mid", "root"]);
    expect([...cookies.keys()]).toEqual(["a", "b"]);
  });
});
