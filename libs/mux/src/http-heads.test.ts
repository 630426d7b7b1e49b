import { describe, expect, it } from "vitest";
import { forwardableHeaders, rawHeader } from "./http-heads.js";

describe("forwardableHeaders", () => {
  it("drops hop-by-hop headers and those the Connection header names, keeping order and case", () => {
    const raw = [
      "Host", "a.example.com",
      "Connection", "keep-alive, X-Secret-Hop",
      "Keep-Alive", "timeout=5",
      "X-Secret-Hop", "1",
      "Transfer-Encoding", "chunked",
      "X-Custom", "yes",
      "TE", "trailers",
      "Expect", "100-continue",
    ];
    expect(forwardableHeaders(raw, new Set(["expect"]))).toEqual(["Host", "a.example.com", "X-Custom", "yes"]);
  });

  it("drops what a one-token Connection value names, and hop-by-hop names in any case, with no drop list", () => {
    const raw = ["Connection", " X-Only-Hop ", "x-only-hop", "1", "KEEP-ALIVE", "timeout=5", "Upgrade", "h2c", "Content-Type", "text/plain", "Date", "x"];
    expect(forwardableHeaders(raw)).toEqual(["Content-Type", "text/plain", "Date", "x"]);
  });

  it("keeps every header when Connection names only hop-by-hop ones (keep-alive, close)", () => {
    expect(forwardableHeaders(["Connection", "keep-alive", "Content-Length", "2", "Server", "up"])).toEqual(["Content-Length", "2", "Server", "up"]);
    expect(forwardableHeaders(["connection", "Close, Upgrade", "Te", "trailers", "X-A", "1"])).toEqual(["X-A", "1"]);
  });

  it("finds header values case-insensitively", () => {
    expect(rawHeader(["Content-Length", "5"], "content-length")).toBe("5");
    expect(rawHeader([], "host")).toBeUndefined();
  });
});

