import { ErrorCode, OnrampError } from "@onramp/errors";
import { describe, expect, it } from "vitest";
import { normalizeRequestTarget, type TargetNormalization } from "./request-target.js";

const HOST = "app.example.com";
const ALL: TargetNormalization = { normalizePath: true, mergeSlashes: true };
const NONE: TargetNormalization = { normalizePath: false, mergeSlashes: false };

const target = (raw: string, options = ALL) => {
  const result = normalizeRequestTarget(raw, HOST, options);
  return result.form === "origin" ? result.target : "*";
};

const refusal = (raw: string, options = ALL): OnrampError => {
  try {
    normalizeRequestTarget(raw, HOST, options);
  } catch (err) {
    return err as OnrampError;
  }
  throw new Error(`${raw} was accepted`);
};

describe("normalizeRequestTarget with the defaults (normalize_path, merge_slashes)", () => {
  it.each([
    ["/", "/"],
    ["/admin", "/admin"],
    ["/admin/", "/admin/"],
    ["/a/b/c?x=1", "/a/b/c?x=1"],
    // dot segments, RFC 3986 §5.2.4 and its examples
    ["/./admin", "/admin"],
    ["/x/../admin", "/admin"],
    ["/a/b/c/./../../g", "/a/g"],
    ["/mid/content=5/../6", "/mid/6"],
    ["/a/b/..", "/a/"],
    ["/a/b/.", "/a/b/"],
    ["/..", "/"],
    ["/../../admin", "/admin"],
    ["/a/..b/c.", "/a/..b/c."],
    ["/...", "/..."],
    // percent-encoded dots are dots; other unreserved escapes are decoded
    ["/%2e/admin", "/admin"],
    ["/%2E%2e/admin", "/admin"],
    ["/x/.%2E/admin", "/admin"],
    ["/%61dmin", "/admin"],
    ["/%41%5a%30%2D%5F%7E", "/AZ0-_~"],
    // other escapes stay encoded, with upper-case hex
    ["/a%2fb", "/a%2Fb"],
    ["/a%2Fb/..%2F/c", "/a%2Fb/..%2F/c"],
    ["/%2e%2e%2fadmin", "/..%2Fadmin"],
    ["/caf%c3%a9", "/caf%C3%A9"],
    ["/100%25", "/100%25"],
    ["/%2561dmin", "/%2561dmin"],
    // slashes
    ["//admin", "/admin"],
    ["///a////b//", "/a/b/"],
    ["/a//../b", "/b"],
    // the query is not touched
    ["/a?x=/../%61&y=%zz", "/a?x=/../%61&y=%zz"],
    ["/./a?", "/a?"],
    ["/?q", "/?q"],
    // absolute-form becomes origin-form
    ["http://app.example.com/admin", "/admin"],
    ["HTTP://APP.Example.COM/admin?x", "/admin?x"],
    ["http://app.example.com", "/"],
    ["http://app.example.com?x=1", "/?x=1"],
    ["http://app.example.com:80/a", "/a"],
    ["https://app.example.com:443/a", "/a"],
    ["http://app.example.com//x/../admin", "/admin"],
    ["*", "*"],
  ])("%s → %s", (raw, expected) => {
    expect(target(raw)).toBe(expected);
  });
});

describe("normalizeRequestTarget with --no-normalize-path --no-merge-slashes", () => {
  it.each([
    ["/%61dmin", "/%61dmin"],
    ["/a%2fb", "/a%2fb"],
    ["//admin", "//admin"],
    ["/a//../b", "/a/b"],
    // what security needs stays: dot segments (encoded ones too) and absolute-form
    ["/./admin", "/admin"],
    ["/x/../admin", "/admin"],
    ["/%2e%2E/admin", "/admin"],
    ["http://app.example.com/x/../admin", "/admin"],
  ])("%s → %s", (raw, expected) => {
    expect(target(raw, NONE)).toBe(expected);
  });

  it("merges slashes alone when only that is asked for", () => {
    expect(target("//%61dmin", { normalizePath: false, mergeSlashes: true })).toBe("/%61dmin");
    expect(target("//%61dmin", { normalizePath: true, mergeSlashes: false })).toBe("//admin");
  });
});

describe("normalizeRequestTarget refuses", () => {
  it.each([
    ["/a#frag", "fragment"],
    ["/a?x#frag", "fragment"],
    ["/a%zz", "% not followed by two hex digits"],
    ["/a%2", "% not followed by two hex digits"],
    ["/100%", "% not followed by two hex digits"],
    ["/a\\..\\admin", "backslash"],
    ["admin", "not a request target"],
    ["app.example.com:443", "not a request target"],
    ["", "not a request target"],
    ["ftp://app.example.com/a", "not ftp:"],
    ["http:///admin", "needs a host"],
    ["http://user@app.example.com/admin", "no user information"],
    ["http://other.example.com/admin", "names other.example.com but the Host header names app.example.com"],
    ["http://app.example.com:8080/admin", "but the Host header"],
    ["https://app.example.com:80/admin", "but the Host header"],
  ])("%s (%s)", (raw, why) => {
    const err = refusal(raw, NONE);
    expect(err).toBeInstanceOf(OnrampError);
    expect(err.code).toBe(ErrorCode.MalformedRequest);
    expect(err.message).toContain(why);
  });

  it("an absolute-form target without a Host header", () => {
    expect(() => normalizeRequestTarget("http://app.example.com/admin", undefined, ALL)).toThrow("the Host header is missing");
  });

  it("keeps error messages short whatever the client sent", () => {
    expect(refusal(`/${"a".repeat(5000)}%`).message.length).toBeLessThan(200);
  });
});
