import { ErrorCode } from "@onramp/errors";
import type { AuthtokenRecord } from "@onramp/registry";
import { describe, expect, it } from "vitest";
import { bindDenial, type Credential } from "./bind-access.js";
import { parseEndpointUrl } from "./endpoint-url.js";
import { RandomUrls } from "./random-urls.js";

const bootstrap: Credential = { kind: "bootstrap" };
const token = (...acl: string[]): Extract<Credential, { kind: "authtoken" }> => ({
  kind: "authtoken",
  token: { id: "tok_test", description: "", acl, token_hash: "0".repeat(64), token_prefix: "onr_00000000", created_at: "" } satisfies AuthtokenRecord,
});

/** The message of the denial, or "allowed". */
function decide(credential: Credential, url: string, options: { random?: boolean; reserved?: string[] } = {}): string {
  const denial = bindDenial(credential, parseEndpointUrl(url), options.random ?? false, options.reserved ?? []);
  if (!denial) return "allowed";
  expect(denial.code).toBe(ErrorCode.BindDenied);
  expect(denial.httpStatus).toBe(403);
  return denial.message;
}

describe("what an authtoken may bind", () => {
  it("lets a bootstrap token bind anything that is not reserved", () => {
    expect(decide(bootstrap, "https://foo.internal")).toBe("allowed");
    expect(decide(bootstrap, "http://*.example.com")).toBe("allowed");
    expect(decide(bootstrap, "http://app.example.com", { reserved: ["other.example.com"] })).toBe("allowed");
  });

  it("refuses a bootstrap token a reserved host, naming the reservation", () => {
    expect(decide(bootstrap, "http://app.example.com", { reserved: ["app.example.com"] })).toBe(
      "binding http://app.example.com is denied: app.example.com is under the reserved domain app.example.com, which only a registry authtoken whose ACL allows it may bind, not an edge's --authtoken",
    );
    // Covered: names below an exact reservation, and what a wildcard one spans.
    expect(decide(bootstrap, "http://a.app.example.com", { reserved: ["app.example.com"] })).toMatch(/reserved domain app\.example\.com/);
    expect(decide(bootstrap, "http://x.example.com", { reserved: ["*.example.com"] })).toMatch(/reserved domain \*\.example\.com/);
    expect(decide(bootstrap, "http://example.com", { reserved: ["*.example.com"] })).toBe("allowed");
    // The edge's random pick is no exception: the name is reserved all the same.
    expect(decide(bootstrap, "http://k3xq9w2mzd.example.com", { random: true, reserved: ["*.example.com"] })).toMatch(/reserved domain/);
  });

  it("lets a registry token bind what its ACL allows, naming the rule to add otherwise", () => {
    const foo = token("bind:foo.internal");
    expect(decide(foo, "https://foo.internal")).toBe("allowed");
    expect(decide(foo, "https://bar.internal")).toBe("binding https://bar.internal is denied: no rule allows binding bar.internal; add bind:bar.internal or bind:*.internal");
    // An exact rule never allows a wildcard bind. (`https://*.internal` itself is no endpoint URL: INVALID_URL.)
    expect(decide(foo, "https://*.foo.internal")).toBe(
      "binding https://*.foo.internal is denied: no rule allows binding *.foo.internal; add bind:*.foo.internal or bind:*.internal",
    );
    const wildcard = token("bind:*.example.com");
    expect(decide(wildcard, "http://a.b.example.com:8080")).toBe("allowed");
    expect(decide(wildcard, "http://*.example.com")).toBe("allowed");
    expect(decide(wildcard, "http://example.com")).toMatch(/no rule allows binding example\.com/);
    expect(decide(token("*"), "http://anything.example.org")).toBe("allowed");
  });

  it("lets a registry token bind random URLs without a rule, and nothing else", () => {
    const none = token();
    expect(decide(none, "http://k3xq9w2mzd.localhost:8080", { random: true })).toBe("allowed");
    expect(decide(none, "http://mine.localhost:8080")).toBe(
      "binding http://mine.localhost:8080 is denied: no rule allows binding mine.localhost (this authtoken has no ACL rules, so it may bind only random URLs); add bind:mine.localhost",
    );
  });

  it("lets a registry token bind a reserved host only when its ACL names it", () => {
    const reserved = ["*.example.com"];
    expect(decide(token("bind:app.example.com"), "http://app.example.com", { reserved })).toBe("allowed");
    expect(decide(token("bind:other.example.com"), "http://app.example.com", { reserved })).toBe(
      "binding http://app.example.com is denied: app.example.com is under the reserved domain *.example.com, and no rule allows binding app.example.com; add bind:app.example.com or bind:*.example.com",
    );
    expect(decide(token(), "http://k3xq9w2mzd.example.com", { random: true, reserved })).toMatch(/reserved domain \*\.example\.com/);
  });

  it("allows nothing by a rule this edge cannot parse, and still the rest", () => {
    expect(decide(token("bind:foo=bar", "bind:foo.internal"), "https://foo.internal")).toBe("allowed");
    expect(decide(token("bind:foo=bar"), "https://foo.internal")).toMatch(/no rule allows binding foo\.internal/);
  });
});

describe("random URLs", () => {
  const urls = new RandomUrls("e2e.localhost", () => 8080);

  it("are derived for a registry token's bind, so every edge and every reconnect knows them", () => {
    const t = token();
    const first = urls.pick(t, "bind_1", 1);
    expect(first.url).toMatch(/^http:\/\/[a-z0-9]{10}\.e2e\.localhost:8080$/);
    expect(urls.pick(t, "bind_1", 1).url).toBe(first.url);
    expect(urls.pick(t, "bind_1", 2).url).not.toBe(first.url);
    expect(urls.pickedFor(t, "bind_1", first.host)).toBe(true);
    expect(urls.pickedFor(t, "bind_1", urls.pick(t, "bind_1", 5).host)).toBe(true);
    expect(urls.pickedFor(t, "bind_2", first.host)).toBe(false);
    expect(urls.pickedFor({ ...t, token: { ...t.token, id: "tok_other" } }, "bind_1", first.host)).toBe(false);
    expect(new RandomUrls("other.test", () => 80).pickedFor(t, "bind_1", first.host)).toBe(false);
    expect(urls.pickedFor(t, "bind_1", `x.${first.host}`)).toBe(false);
  });

  it("are drawn for a bootstrap token", () => {
    const a = urls.pick(bootstrap, "bind_1", 1);
    expect(a.url).toMatch(/^http:\/\/[a-z0-9]{8,10}\.e2e\.localhost:8080$/);
    expect(urls.pick(bootstrap, "bind_1", 1).url).not.toBe(a.url);
    expect(urls.pickedFor(bootstrap, "bind_1", a.host)).toBe(false);
    expect(new RandomUrls("e2e.localhost", () => 80).pick(bootstrap, "b", 1).url).toMatch(/^http:\/\/[a-z0-9]+\.e2e\.localhost$/);
  });
});
