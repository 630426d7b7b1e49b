import { ErrorCode, OnrampError } from "@onramp/errors";
import { describe, expect, it } from "vitest";
import { allowsBind, parseAcl, parseAclRule, reservedBy } from "./acl.js";

const long63 = "a".repeat(63);
const host254 = `${long63}.${long63}.${long63}.${"a".repeat(58)}.com`;

describe("parseAclRule", () => {
  it.each([
    ["bind:app.example.com", "exact", "app.example.com"],
    ["bind:App.Example.COM", "exact", "app.example.com"],
    ["bind:foo.internal", "exact", "foo.internal"],
    ["bind:*.example.com", "wildcard", "*.example.com"],
    ["bind:*.internal", "wildcard", "*.internal"],
    ["bind:xn--bcher-kva.example", "exact", "xn--bcher-kva.example"],
    [`bind:${long63}.com`, "exact", `${long63}.com`],
    ["bind:*", "any", "*"],
    ["*", "any", "*"],
  ])("%s is %s %s", (text, kind, host) => {
    expect(parseAclRule(text)).toEqual({ text, kind, host });
  });

  it.each([
    ["example.com", 'invalid ACL rule "example.com": no verb; a rule is bind:<host>, bind:*.<domain> or bind:*'],
    ["listen:a.com", 'invalid ACL rule "listen:a.com": unknown verb "listen"; a rule is bind:<host>, bind:*.<domain> or bind:*'],
    ["BIND:a.com", 'invalid ACL rule "BIND:a.com": unknown verb "BIND"; a rule is bind:<host>, bind:*.<domain> or bind:*'],
    [" bind:a.com", 'invalid ACL rule " bind:a.com": unknown verb " bind"; a rule is bind:<host>, bind:*.<domain> or bind:*'],
    ["bind:", 'invalid ACL rule "bind:": empty host'],
    ["bind:a..com", 'invalid ACL rule "bind:a..com": empty label (a leading, trailing or doubled dot)'],
    ["bind:example.com.", 'invalid ACL rule "bind:example.com.": empty label (a leading, trailing or doubled dot)'],
    ["bind:*.", 'invalid ACL rule "bind:*.": empty label (a leading, trailing or doubled dot)'],
    ["bind:foo_bar.com", 'invalid ACL rule "bind:foo_bar.com": "foo_bar" is not a valid hostname label (letters, digits and inner hyphens)'],
    ["bind:-a.com", 'invalid ACL rule "bind:-a.com": "-a" is not a valid hostname label (letters, digits and inner hyphens)'],
    ["bind:a .com", 'invalid ACL rule "bind:a .com": "a " is not a valid hostname label (letters, digits and inner hyphens)'],
    ["bind:\u212Aey.com", 'invalid ACL rule "bind:\u212Aey.com": "\u212Aey" is not a valid hostname label (letters, digits and inner hyphens)'],
    ["bind:app.*.example.com", 'invalid ACL rule "bind:app.*.example.com": the wildcard must be the whole leftmost label, as in *.example.com'],
    ["bind:*-app.example.com", 'invalid ACL rule "bind:*-app.example.com": the wildcard must be the whole leftmost label, as in *.example.com'],
    ["bind:*.*.example.com", 'invalid ACL rule "bind:*.*.example.com": the wildcard must be the whole leftmost label, as in *.example.com'],
    ["bind:foo=bar", 'invalid ACL rule "bind:foo=bar": label rules (key=value) are not supported; Onramp binds hostnames'],
    ["bind:1.tcp.example.com:20001", 'invalid ACL rule "bind:1.tcp.example.com:20001": addresses with a port are not supported; name a hostname'],
    [`bind:${"a".repeat(64)}.com`, `invalid ACL rule "bind:${"a".repeat(35)}…": label "${"a".repeat(40)}…" is longer than 63 characters`],
    [`bind:${host254}`, `invalid ACL rule "bind:${"a".repeat(35)}…": host is longer than 253 characters`],
  ])("rejects %j", (text, message) => {
    const err = catchError(() => parseAclRule(text));
    expect(err).toBeInstanceOf(OnrampError);
    expect(err).toMatchObject({ code: ErrorCode.InvalidArgument, message });
  });

  it("parseAcl parses every rule and stops at the first bad one", () => {
    expect(parseAcl(["bind:a.com", "bind:*.b.com"]).map((r) => r.kind)).toEqual(["exact", "wildcard"]);
    expect(() => parseAcl(["bind:a.com", "bind:"])).toThrow('invalid ACL rule "bind:": empty host');
  });
});

describe("allowsBind", () => {
  const rules = parseAcl(["bind:app.example.com", "bind:*.dev.example.com", "bind:foo.internal", "bind:*.svc.internal"]);

  it.each([
    ["app.example.com", "bind:app.example.com"],
    ["a.dev.example.com", "bind:*.dev.example.com"],
    ["a.b.c.dev.example.com", "bind:*.dev.example.com"],
    ["*.dev.example.com", "bind:*.dev.example.com"],
    ["*.a.dev.example.com", "bind:*.dev.example.com"],
    ["foo.internal", "bind:foo.internal"],
    ["api.svc.internal", "bind:*.svc.internal"],
  ])("allows %s by %s", (host, rule) => {
    expect(allowsBind(rules, host)).toEqual({ allowed: true, rule });
  });

  it.each([
    ["other.example.com", "no rule allows binding other.example.com; add bind:other.example.com or bind:*.example.com"],
    ["dev.example.com", "no rule allows binding dev.example.com; add bind:dev.example.com or bind:*.example.com"],
    ["x.app.example.com", "no rule allows binding x.app.example.com; add bind:x.app.example.com or bind:*.app.example.com"],
    ["*.app.example.com", "no rule allows binding *.app.example.com; add bind:*.app.example.com or bind:*.example.com"],
    ["*.example.com", "no rule allows binding *.example.com; add bind:*.example.com"],
    ["xdev.example.com", "no rule allows binding xdev.example.com; add bind:xdev.example.com or bind:*.example.com"],
    ["bar.internal", "no rule allows binding bar.internal; add bind:bar.internal or bind:*.internal"],
    ["svc.internal", "no rule allows binding svc.internal; add bind:svc.internal or bind:*.internal"],
    ["example.com", "no rule allows binding example.com; add bind:example.com"],
  ])("refuses %s", (host, reason) => {
    expect(allowsBind(rules, host)).toEqual({ allowed: false, reason });
  });

  it.each([
    [["bind:*.internal"], "a.internal", true],
    [["bind:*.internal"], "a.b.internal", true],
    [["bind:*.internal"], "*.internal", true],
    [["bind:*.internal"], "internal", false],
    [["bind:*.internal"], "a.example.com", false],
    [["bind:App.Example.com"], "app.example.com", true],
    [["bind:*.Example.com"], "a.example.com", true],
    [["bind:*"], "anything.example.com", true],
    [["*"], "*.example.com", true],
  ])("%j on %s: %s", (texts, host, allowed) => {
    expect(allowsBind(parseAcl(texts), host).allowed).toBe(allowed);
  });

  it("names the first rule that allows the bind", () => {
    expect(allowsBind(parseAcl(["bind:*.example.com", "bind:a.example.com"]), "a.example.com")).toEqual({
      allowed: true,
      rule: "bind:*.example.com",
    });
  });

  it("says a token without rules binds only random URLs", () => {
    expect(allowsBind([], "app.example.com")).toEqual({
      allowed: false,
      reason:
        "no rule allows binding app.example.com (this authtoken has no ACL rules, so it may bind only random URLs); " +
        "add bind:app.example.com or bind:*.example.com",
    });
  });
});

describe("reservedBy", () => {
  const reserved = ["app.example.com", "*.example.com", "*.dev.example.com", "foo.internal"];

  it.each([
    ["app.example.com", "app.example.com"],
    ["x.app.example.com", "app.example.com"],
    ["*.app.example.com", "app.example.com"],
    ["other.example.com", "*.example.com"],
    ["*.example.com", "*.example.com"],
    ["a.b.example.com", "*.example.com"],
    ["a.dev.example.com", "*.dev.example.com"],
    ["dev.example.com", "*.example.com"],
    ["foo.internal", "foo.internal"],
    ["example.com", undefined],
    ["bar.internal", undefined],
    ["notexample.com", undefined],
  ])("%s is reserved by %s", (host, by) => {
    expect(reservedBy(reserved, host)).toBe(by);
  });

  it("prefers the most specific reservation whatever the order", () => {
    expect(reservedBy(["*.example.com", "*.a.example.com"], "x.a.example.com")).toBe("*.a.example.com");
    expect(reservedBy(["*.a.example.com", "*.example.com"], "x.a.example.com")).toBe("*.a.example.com");
    expect(reservedBy([], "a.example.com")).toBeUndefined();
  });
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error("expected a throw");
}
