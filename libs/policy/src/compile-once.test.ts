import { RE2JS } from "@bufbuild/re2";
import { describe, expect, it, vi } from "vitest";
import { fakeRuntime, policyOf, request } from "./test-fixtures.js";

vi.mock("@bufbuild/cel", async (importOriginal) => {
  const original = await importOriginal<typeof import("@bufbuild/cel")>();
  return { ...original, parse: vi.fn(original.parse), plan: vi.fn(original.plan) };
});

const { parse, plan } = await import("@bufbuild/cel");

describe("compiling once", () => {
  it("parses and plans every expression at load time and never per request", async () => {
    const re2Compile = vi.spyOn(RE2JS, "compile");
    const policy = policyOf(`
on_http_request:
  - expressions:
      - "req.url.path.matches('^/api/v[0-9]+/')"
      - "hasReqHeader('x-api-key')"
    actions:
      - type: add-headers
        config:
          headers:
            x-client: "\${conn.client_ip}:\${string(conn.client_port)}"
      - type: rate-limit
        config: {algorithm: sliding_window, capacity: 1000000, rate: 1m, bucket_key: ["getReqHeader('x-api-key')"]}
      - type: url-rewrite
        config: {from: "^/api/v1/(.*)", to: "/v2/$1"}
`);
    const counts = () => [vi.mocked(parse).mock.calls.length, vi.mocked(plan).mock.calls.length, re2Compile.mock.calls.length];
    const afterLoad = counts();
    expect(afterLoad[0]).toBeGreaterThanOrEqual(5);
    const rt = fakeRuntime();
    for (let i = 0; i < 500; i++) {
      const ctx = request({ url: `https://api.example.com/api/v1/items/${i}`, headers: { "x-api-key": `k${i % 7}` } });
      const out = await policy.onHttpRequest(ctx, rt);
      expect(out.kind).toBe("continue");
      expect(ctx.request.path).toBe(`/v2/items/${i}`);
    }
    expect(counts()).toEqual(afterLoad);
  });
});
