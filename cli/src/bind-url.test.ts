import { describe, expect, it } from "vitest";
import { checkBindUrl, localhostHint } from "./bind-url.js";

const flag = (text: string) => checkBindUrl(text, "--url", (u) => `--url ${u}`);
const advice = "use e.g. --url http://app.example.com or --url https://api.internal";

describe("checkBindUrl", () => {
  it.each([
    ["http://app.example.com", "http://app.example.com"],
    ["https://api.internal", "https://api.internal"],
    ["HTTP://App.Example.com:8080", "http://app.example.com:8080"],
    ["https://*.example.com", "https://*.example.com"],
    ["http://app.example.com/", "http://app.example.com"],
    ["app.example.com", "http://app.example.com"],
    ["*.example.com:8080", "http://*.example.com:8080"],
  ])("takes %s as %s", (text, url) => expect(flag(text)).toBe(url));

  it.each([
    ["foo", `--url "foo" is not a URL; ${advice}`],
    ["ftp://app.example.com", `--url "ftp://app.example.com" has scheme ftp://, and an edge serves http:// and https://; ${advice}`],
    ["http://app.example.com/path", `--url "http://app.example.com/path" is not an endpoint URL (an endpoint URL has no path, query or fragment); ${advice}`],
    ["http://user:pw@app.example.com", `--url "http://user:pw@app.example.com" is not an endpoint URL (credentials are not allowed in an endpoint URL); ${advice}`],
    ["http://*.com", `--url "http://*.com" is not an endpoint URL (a wildcard needs a domain below it, like *.example.com); ${advice}`],
  ])("refuses %s before connecting, with an example", (text, message) => {
    expect(() => flag(text)).toThrow(message);
  });

  it("words the example the way the config writes it", () => {
    expect(() => checkBindUrl("foo", "endpoints.web.url", (u) => `url: ${u}`)).toThrow(
      'endpoints.web.url "foo" is not a URL; use e.g. url: http://app.example.com or url: https://api.internal',
    );
  });
});

describe("localhostHint", () => {
  it("shows loopback, the port and the Host header for *.localhost", () => {
    expect(localhostHint("http://abc.localhost:8080")).toBe(
      'onramp: *.localhost resolves in browsers and curl only; from other clients use http://127.0.0.1:8080 with the header "Host: abc.localhost"',
    );
    expect(localhostHint("http://abc.localhost")).toContain("use http://127.0.0.1 with the header");
  });

  it("says nothing for other hosts and for wildcards", () => {
    expect(localhostHint("http://app.example.com:8080")).toBeUndefined();
    expect(localhostHint("http://localhost:8080")).toBeUndefined();
    expect(localhostHint("http://*.dev.localhost:8080")).toBeUndefined();
  });
});
