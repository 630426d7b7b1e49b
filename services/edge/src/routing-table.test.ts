import { ErrorCode } from "@onramp/errors";
import { describe, expect, it } from "vitest";
import { resolveEndpoint } from "./dispatch.js";
import { hostnameOf, parseEndpointUrl } from "./endpoint-url.js";
import { RoutingTable, type Member } from "./routing-table.js";

const member = (id: string): Member => ({
  id,
  region: "local",
  edge: "e1",
  bindId: id,
  agentId: "a1",
  sessionId: "s1",
  local: true,
  upstream: "http://localhost:3000",
  policy: undefined,
  opener: () => undefined,
});

function tableWith(...urls: string[]): RoutingTable {
  const table = new RoutingTable("local");
  for (const u of urls) table.addMember(parseEndpointUrl(u), false, member(u));
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

  it("holds several members per endpoint and replaces a member with the same id", () => {
    const table = new RoutingTable("local");
    const url = parseEndpointUrl("http://pool.example.com");
    table.addMember(url, true, member("a"));
    table.addMember(url, true, member("b"));
    expect(table.addMember(url, true, member("b")).pool.size).toBe(2);
    table.removeMember("pool.example.com", "a");
    expect(table.lookup("pool.example.com")?.pool.members().map((m) => m.id)).toEqual(["b"]);
  });

  it("never puts members on a cloud endpoint", () => {
    const table = new RoutingTable("local");
    const url = parseEndpointUrl("http://api.example.com");
    table.setCloudEndpoint(url, {} as never);
    expect(table.addMember(url, false, member("a")).pool.size).toBe(0);
    table.removeCloudEndpoint("api.example.com");
    expect(table.lookup("api.example.com")).toBeUndefined();
  });

  it("forgets a deleted cloud endpoint at once, even where an agent's endpoint went offline before it", () => {
    const table = tableWith("http://api.example.com");
    table.removeMember("api.example.com", "http://api.example.com");
    expect(table.wasOnline("api.example.com")).toBe(true);
    table.setCloudEndpoint(parseEndpointUrl("http://api.example.com"), {} as never);
    table.removeCloudEndpoint("api.example.com");
    expect(() => resolveEndpoint(table, "api.example.com")).toThrow(expect.objectContaining({ code: ErrorCode.EndpointNotFound }));
  });

  it("remembers an endpoint whose last member left as offline, not unknown", () => {
    const table = tableWith("http://gone.example.com");
    table.removeMember("gone.example.com", "http://gone.example.com");
    expect(table.lookup("gone.example.com")).toBeUndefined();
    expect(table.wasOnline("gone.example.com")).toBe(true);
    expect(table.wasOnline("never.example.com")).toBe(false);
  });

  it("knows a host under an offline wildcard endpoint is offline too", () => {
    const table = tableWith("http://*.apps.example.com");
    table.removeMember("*.apps.example.com", "http://*.apps.example.com");
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
