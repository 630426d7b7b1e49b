import { ErrorCode, OnrampError } from "@onramp/errors";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { normalizeRequestTarget, type TargetNormalization } from "./request-target.js";

const HOST = "app.test";

/** Paths made of the pieces normalisation cares about. */
const segment = fc.oneof(
  fc.constantFrom("", ".", "..", "%2e", "%2E%2e", ".%2E", "a", "admin", "%61", "%2F", "%2f", "%7E", "%41%42", "%", "%zz", "\\", "...", "a.b", "%25", "%2e%2e%2e"),
  fc.string({ maxLength: 4 }),
);
const path = fc.array(segment, { maxLength: 8 }).map((s) => `/${s.join("/")}`);
const target = fc.oneof(
  path,
  fc.tuple(path, fc.string({ maxLength: 8 })).map(([p, q]) => `${p}?${q}`),
  fc.tuple(fc.constantFrom("http://app.test", "HTTPS://APP.TEST:443", "http://app.test:80", "http://other.test", "ftp://app.test", "http://u@app.test", "http://"), path).map(([a, p]) => a + p),
  fc.constantFrom("*", "", "a/b", "//", "/#x", "?q"),
  fc.string({ maxLength: 16 }),
);
const options = fc.record({ normalizePath: fc.boolean(), mergeSlashes: fc.boolean() });

/** The target as normalised, or undefined when refused (always with MALFORMED_REQUEST). */
function normalized(raw: string, o: TargetNormalization): string | undefined {
  try {
    const t = normalizeRequestTarget(raw, HOST, o);
    return t.form === "asterisk" ? "*" : t.target;
  } catch (err) {
    expect(err).toBeInstanceOf(OnrampError);
    expect((err as OnrampError).code).toBe(ErrorCode.MalformedRequest);
    return undefined;
  }
}

describe("request target normalisation (property)", () => {
  it("refuses only with MALFORMED_REQUEST, and its result is an absolute path free of dot segments", () => {
    fc.assert(
      fc.property(target, options, (raw, o) => {
        const out = normalized(raw, o);
        if (out === undefined || out === "*") return;
        const p = out.split("?")[0]!;
        expect(p.startsWith("/")).toBe(true);
        const segments = p.split("/").slice(1);
        for (const s of segments) expect([".", ".."]).not.toContain(s.replace(/%2e/gi, "."));
        if (o.mergeSlashes) expect(p).not.toContain("//");
      }),
      { numRuns: 1000 },
    );
  });

  it("is idempotent: normalising the result again changes nothing", () => {
    fc.assert(
      fc.property(target, options, (raw, o) => {
        const once = normalized(raw, o);
        if (once === undefined || once === "*") return;
        expect(normalized(once, o)).toBe(once);
      }),
      { numRuns: 1000 },
    );
  });
});
