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

  it("says https:// and the HTTPS listener's port for an https:// endpoint when the edge has one", () => {
    const tls = (url: string, httpsPort: number) => publicUrlOf(parseEndpointUrl(url), 8080, httpsPort);
    expect(tls("https://app.example.com", 443)).toBe("https://app.example.com");
    expect(tls("https://app.example.com", 8443)).toBe("https://app.example.com:8443");
    expect(tls("https://app.example.com:9443", 8443)).toBe("https://app.example.com:9443");
    expect(tls("http://app.example.com", 8443)).toBe("http://app.example.com:8080");
  });

  it("leaves internal endpoints as bound: no client reaches them directly", () => {
    expect(at("https://foo.internal", 8080)).toBe("https://foo.internal");
  });
});
