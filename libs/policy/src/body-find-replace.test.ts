import { describe, expect, it } from "vitest";
import type { RequestContext } from "./context.js";
import { errorsOf, fakeRuntime, policyOf, request } from "./test-fixtures.js";

const text = (b: Uint8Array) => new TextDecoder().decode(b);

function withBody(body: string | Uint8Array, headers: Record<string, string> = {}): { ctx: RequestContext; forwarded: () => Uint8Array } {
  const ctx = request({ method: "POST", headers: { "content-length": "0", ...headers } });
  let bytes: Uint8Array = typeof body === "string" ? new TextEncoder().encode(body) : body;
  ctx.request.body = { read: async () => bytes, replace: (b) => (bytes = b) };
  return { ctx, forwarded: () => bytes };
}

describe("request-body-find-replace", () => {
  const policy = policyOf(`
on_http_request:
  - actions:
      - type: set-vars
        config: {vars: [{mask: "[EMAIL]"}]}
      - type: request-body-find-replace
        config:
          replacements:
            - from: '"api_key":\\s*"[^"]*"'
              to: '"api_key": "[REDACTED]"'
            - from: "[a-zA-Z0-9._%+-]+@([a-zA-Z0-9.-]+\\\\.[a-zA-Z]{2,})"
              to: "\${vars.mask}@$1"
            - from: "never-there"
`);

  it("rewrites the body in order, fixes Content-Length and reports the rules that matched", async () => {
    const { ctx, forwarded } = withBody('{"api_key": "sk-abc", "user": "john.doe@example.com"}');
    const out = await policy.onHttpRequest(ctx, fakeRuntime());
    expect(out.kind).toBe("continue");
    const after = '{"api_key": "[REDACTED]", "user": "[EMAIL]@example.com"}';
    expect(text(forwarded())).toBe(after);
    expect(ctx.request.headers.get("content-length")).toEqual([String(after.length)]);
    expect(ctx.actionResults.get("request_body_find_replace")).toEqual({
      replacements: [
        { replacement_index: 0n, matched_content: '"api_key": "sk-abc"' },
        { replacement_index: 1n, matched_content: "john.doe@example.com" },
      ],
    });
  });

  it("leaves a body that is not UTF-8 text alone", async () => {
    const binary = new Uint8Array([0xff, 0xfe, 0x40, 0x61, 0x2e, 0x63, 0x6f]);
    const { ctx, forwarded } = withBody(binary);
    await policy.onHttpRequest(ctx, fakeRuntime());
    expect(forwarded()).toBe(binary);
  });

  it("marks the policy as needing the body, and checks its config", () => {
    expect(policy.needsRequestBody).toBe(true);
    const errors = errorsOf(`on_http_request:\n  - actions:\n      - type: request-body-find-replace\n        config: {replacements: [{from: "(a", to: x}, {to: y}]}\n`);
    expect(errors).toMatch(/config\.replacements\[0\]\.from: invalid RE2 regular expression/);
    expect(errors).toMatch(/config\.replacements\[1\]\.from: is required/);
    expect(errorsOf(`on_http_response:\n  - actions:\n      - type: request-body-find-replace\n        config: {replacements: [{from: a}]}\n`)).toMatch(
      /request-body-find-replace is not supported in on_http_response/,
    );
  });
});

describe("response-body-find-replace", () => {
  it("decides edits in the response phase that the edge applies to the buffered body", async () => {
    const policy = policyOf(`
on_http_response:
  - expressions: ["res.status_code == 200"]
    actions:
      - type: response-body-find-replace
        config:
          replacements:
            - from: "secret-(\\\\d+)"
              to: "hidden-$1-\${req.method}"
`);
    expect(policy.needsRequestBody).toBe(false);
    const ctx = request({ method: "GET" });
    const out = await policy.onHttpResponse(ctx, { statusCode: 200, headers: new Map() }, fakeRuntime());
    if (out.kind !== "continue") throw new Error(out.kind);
    expect(out.bodyEdits).toHaveLength(1);
    let edited: Uint8Array = new TextEncoder().encode("a secret-42 and secret-7");
    for (const edit of out.bodyEdits!) edited = edit(edited);
    expect(text(edited)).toBe("a hidden-42-GET and hidden-7-GET");
    expect(ctx.actionResults.get("response_body_find_replace")).toEqual({ replacements: [{ replacement_index: 0n, matched_content: "secret-42" }] });
    const skipped = await policy.onHttpResponse(ctx, { statusCode: 404, headers: new Map() }, fakeRuntime());
    expect(skipped.kind === "continue" && skipped.bodyEdits).toBeFalsy();
  });
});
