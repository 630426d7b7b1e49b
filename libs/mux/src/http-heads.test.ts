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

  it("finds header values case-insensitively", () => {
    expect(rawHeader(["Content-Length", "5"], "content-length")).toBe("5");
    expect(rawHeader([], "host")).toBeUndefined();
  });
});

