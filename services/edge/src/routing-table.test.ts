import { describe, expect, it } from "vitest";
import { hostnameOf, parseEndpointUrl } from "./endpoint-url.js";
import { RoutingTable, type Member } from "./routing-table.js";

const member = (id: string): Member<string> => ({ id, region: "local", bindId: id, session: id, upstream: "http://localhost:3000", policy: undefined });

function tableWith(...urls: string[]): RoutingTable<string> {
  const table = new RoutingTable<string>("local");
  for (const u of urls) table.bind(parseEndpointUrl(u), false, member(u));
  return table;
}

describe("RoutingTable", () => {
  it("routes exact hosts, then the most specific wildcard", () => {
    const table = tableWith("http://api.example.com", "http://*.example.com", "http://*.eu.example.com");
    const url = (host: string) => table.lookup(host)?.url.url;
    expect(url("api.example.com")).toBe("http://api.example.com");
    expect(url("www.example.com")).toBe("http://*.example.com");
    expect(url("a.eu.example.com")).toBe("http://*.eu.example.com");
    expect(url("x.a.eu.example.com")).toBe("http://*.eu.example.com");
    expect(url("example.com")).toBeUndefined();
    expect(url("other.org")).toBeUndefined();
  });

  it("keeps internal endpoints off public lookups", () => {
    const table = tableWith("https://billing.internal");
    expect(table.lookup("billing.internal")).toBeUndefined();
    expect(table.lookup("billing.internal", true)?.url.internal).toBe(true);
  });

  it("refuses a second bind unless both enable pooling", () => {
    const table = tableWith("http://solo.example.com");
    expect(() => table.bind(parseEndpointUrl("http://solo.example.com"), true, member("b"))).toThrow(/already bound by another agent without pooling/);
    const pooled = new RoutingTable<string>("local");
    pooled.bind(parseEndpointUrl("http://pool.example.com"), true, member("a"));
    expect(pooled.bind(parseEndpointUrl("http://pool.example.com"), true, member("b")).pool.size).toBe(2);
  });

  it("remembers an endpoint whose last member left as offline, not unknown", () => {
    const table = tableWith("http://gone.example.com");
    table.unbind("gone.example.com", "http://gone.example.com");
    expect(table.lookup("gone.example.com")).toBeUndefined();
    expect(table.wasOnline("gone.example.com")).toBe(true);
    expect(table.wasOnline("never.example.com")).toBe(false);
  });

  it("knows a host under an offline wildcard endpoint is offline too", () => {
    const table = tableWith("http://*.apps.example.com");
    table.unbind("*.apps.example.com", "http://*.apps.example.com");
    expect(table.wasOnline("shop.apps.example.com")).toBe(true);
    expect(table.wasOnline("shop.other.example.com")).toBe(false);
  });
});

describe("endpoint URLs", () => {
  it.each([
    ["app.example.com", "http://app.example.com"],
    ["HTTPS://App.Example.com:8443", "https://app.example.com:8443"],
    ["http://*.example.com", "http://*.example.com"],
  ])("normalises %s", (input, url) => expect(parseEndpointUrl(input).url).toBe(url));

  it.each([
    ["ftp://x.example.com", /scheme ftp/],
    ["http://x.example.com/path", /no path/],
    ["http://user:pw@x.example.com", /credentials/],
    ["http://-bad-.example.com", /not a valid hostname/],
    ["http://*.com", /wildcard needs a domain/],
  ])("refuses %s with a reason", (input, reason) => expect(() => parseEndpointUrl(input)).toThrow(reason));

  it("reads the hostname of a Host header", () => {
    expect(hostnameOf("App.Example.com:8080")).toBe("app.example.com");
    expect(hostnameOf("[::1]:80")).toBe("[::1]");
    expect(hostnameOf("example.com.")).toBe("example.com");
    expect(hostnameOf(undefined)).toBeUndefined();
  });
});
