import { describe, expect, it } from "vitest";
import type { ResponseInfo } from "./context.js";
import { fakeRuntime, policyOf, request } from "./test-fixtures.js";

const rt = fakeRuntime();

function res(status: number, headers: Record<string, string> = {}): ResponseInfo {
  return { statusCode: status, headers: new Map(Object.entries(headers).map(([k, v]) => [k, [v]])) };
}

describe("compress-response", () => {
  const policy = policyOf(`
on_http_response:
  - expressions: ["getResHeader('content-type').exists(t, t.startsWith('application/json'))"]
    actions: [{type: compress-response, config: {algorithms: [br, gzip]}}]
`);

  it.each([
    ["gzip, deflate, br", 200, {}, "br"],
    ["gzip", 200, {}, "gzip"],
    ["deflate", 200, {}, undefined],
    ["br;q=0.1, gzip;q=0.9", 200, {}, "gzip"],
    ["br", 204, {}, undefined],
    ["br", 200, { "content-encoding": "gzip" }, undefined],
    ["", 200, {}, undefined],
  ] as const)("Accept-Encoding %j, status %d, %j → %s", async (accept, status, extra, encoding) => {
    const response = res(status, { "content-type": "application/json", "content-length": "1234", ...extra });
    const out = await policy.onHttpResponse(request({ headers: accept ? { "accept-encoding": accept } : {} }), response, rt);
    expect(out.kind).toBe("continue");
    if (out.kind !== "continue") return;
    expect(out.compress?.encoding).toBe(encoding);
    if (encoding) {
      expect(response.headers.get("content-encoding")).toEqual([encoding]);
      expect(response.headers.has("content-length")).toBe(false);
      expect(response.headers.get("vary")).toEqual(["Accept-Encoding"]);
    } else {
      expect(response.headers.get("content-length")).toEqual(["1234"]);
    }
  });

  it("skips responses the expressions exclude", async () => {
    const out = await policy.onHttpResponse(request({ headers: { "accept-encoding": "br" } }), res(200, { "content-type": "image/png" }), rt);
    expect(out).toMatchObject({ kind: "continue", compress: undefined });
  });

  it("defaults to gzip, deflate and br", async () => {
    const p = policyOf("on_http_response:\n  - actions: [{type: compress-response}]\n");
    const out = await p.onHttpResponse(request({ headers: { "accept-encoding": "deflate" } }), res(200), rt);
    expect(out).toMatchObject({ compress: { encoding: "deflate" } });
  });

  it("accepts compress (LZW) in algorithms, as ngrok does, and never chooses it", async () => {
    const p = policyOf("on_http_response:\n  - actions: [{type: compress-response, config: {algorithms: [compress, gzip]}}]\n");
    const only = await p.onHttpResponse(request({ headers: { "accept-encoding": "compress" } }), res(200), rt);
    expect(only).toMatchObject({ kind: "continue", compress: undefined });
    const both = await p.onHttpResponse(request({ headers: { "accept-encoding": "compress, gzip;q=0.5" } }), res(200), rt);
    expect(both).toMatchObject({ compress: { encoding: "gzip" } });
  });
});
