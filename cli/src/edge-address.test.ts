import { describe, expect, it } from "vitest";
import { edgeAddressProblem } from "./edge-address.js";

describe("edge addresses", () => {
  it.each(["edge.example.com:4443", "127.0.0.1:4443", "[::1]:4443", "localhost:1", "a-b.c:65535"])("takes %s", (text) => {
    expect(edgeAddressProblem(text)).toBeUndefined();
  });

  it.each([
    ["foo", "is not host:port"],
    ["edge.example.com", "is not host:port"],
    ["http://edge:4443", "is not host:port"],
    ["edge:0", "has port 0, and a port is 1-65535"],
    ["edge:99999", "has port 99999, and a port is 1-65535"],
    ["[nope]:1", "has [nope], which is not an IPv6 address"],
    ["0.0.0.0:4443", "names 0.0.0.0, which is not an address an agent can dial"],
    ["bad_host:1", "has bad_host, which is not a host name"],
    ["-a.com:1", "has -a.com, which is not a host name"],
  ])("refuses %s: %s", (text, problem) => {
    expect(edgeAddressProblem(text)).toBe(problem);
  });
});
