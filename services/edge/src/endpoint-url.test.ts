import { describe, expect, it } from "vitest";
import { parseEndpointUrl, publicUrlOf } from "./endpoint-url.js";

describe("publicUrlOf", () => {
  const at = (url: string, port: number) => publicUrlOf(parseEndpointUrl(url), port);

  it("adds the edge's public port unless it is 80, as a client must type it", () => {
    expect(at("http://api.localhost", 38080)).toBe("http://api.localhost:38080");
    expect(at("http://app.example.com", 80)).toBe("http://app.example.com");
  });

  it("keeps a port the URL names, and says http while the edge serves no TLS", () => {
    expect(at("http://app.example.com:9000", 38080)).toBe("http://app.example.com:9000");
    expect(at("https://app.example.com", 8080)).toBe("http://app.example.com:8080");
  });

  it("leaves internal endpoints as bound: no client reaches them directly", () => {
    expect(at("https://foo.internal", 8080)).toBe("https://foo.internal");
  });
});
