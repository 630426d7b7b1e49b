import { ErrorCode, OnrampError } from "@onramp/errors";
import fc from "fast-check";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { ACTIONS } from "./actions/registry.js";
import { createRequestContext } from "./context.js";
import { loadPolicy } from "./load-policy.js";
import type { Policy } from "./policy.js";
import { fakeRuntime } from "./test-fixtures.js";

/** Whole policies made of the YAML examples of docs/traffic-policy.md (as docs-examples.test.ts wraps snippets). */
const DOC_EXAMPLES = [...readFileSync(new URL("../../../docs/traffic-policy.md", import.meta.url), "utf8").matchAll(/```yaml\n([\s\S]*?)```/g)]
  .flatMap((m) => {
    const snippet = m[1]!;
    const indented = (text: string, by: string) => text.replace(/^(?=.)/gm, by);
    if (!/^- (type|name|expressions):/m.test(snippet) || /^on_/m.test(snippet)) return [snippet];
    const rules = snippet.startsWith("- type:") ? `- actions:\n${indented(snippet, "    ")}` : snippet;
    return ["on_http_request", "on_http_response", "on_tcp_connect"].map((phase) => `${phase}:\n${indented(rules, "  ")}`);
  })
  .filter((text) => loadPolicy(text).ok);

const EXPRESSIONS = [
  "req.method == 'GET'",
  "req.url.path.startsWith('/admin')",
  "req.user_agent.is_bot",
  "res.status_code >= 500",
  "'x-api-key' in req.headers",
  "req.headers['x-missing'][0] == 'a'",
  "conn.client_ip == '127.0.0.1'",
  "size(req.url.path) > 3",
  "req.url.path.matches('^/a.*b$')",
  "getReqHeader('x-api-key').size() > 0",
  "int(req.url.query_params['n'][0]) > 2",
  "1 / 0 == 1",
  "true",
];

const CONFIG_KEYS = [
  "headers", "status_code", "body", "content", "to", "from", "format", "capacity", "rate", "algorithm", "bucket_key",
  "allow", "deny", "credentials", "realm", "url", "metadata", "vars", "error_threshold", "window", "tripped_duration",
  "jwks", "issuer", "audience", "tokens", "algorithms", "encodings", "min_size", "binding", "on_error", "status",
];

const scalar = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom("${conn.client_ip}", "${req.url.path}", "${", "}", "1m", "10s", "0", "-1", "10.0.0.0/8", "::1/128", "sliding_window", "user:pass", "https://x.test/jwks", "[a-z]+(", "$1"),
  fc.integer({ min: -5, max: 1000 }),
  fc.double({ noNaN: false }),
  fc.boolean(),
  fc.constant(null),
);

const value: fc.Arbitrary<unknown> = fc.letrec<{ v: unknown }>((tie) => ({
  v: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    scalar,
    fc.array(tie("v"), { maxLength: 3 }),
    fc.dictionary(fc.oneof(fc.constantFrom(...CONFIG_KEYS), fc.string({ maxLength: 6 })), tie("v"), { maxKeys: 3 }),
  ),
})).v;

const config = fc.dictionary(fc.constantFrom(...CONFIG_KEYS), value, { maxKeys: 4 });

const action = fc.record(
  { type: fc.oneof(fc.constantFrom(...ACTIONS.keys()), fc.string({ maxLength: 8 })), config: fc.oneof(config, value) },
  { requiredKeys: ["type"] },
);

const expression = fc.oneof(
  fc.constantFrom(...EXPRESSIONS),
  fc.tuple(fc.constantFrom(...EXPRESSIONS), fc.nat(), fc.string({ maxLength: 3 })).map(([e, at, s]) => e.slice(0, at % (e.length + 1)) + s),
  fc.string({ maxLength: 20 }),
);

const rule = fc.record(
  { name: fc.oneof(fc.string({ maxLength: 10 }), value), expressions: fc.oneof(fc.array(expression, { maxLength: 3 }), value), actions: fc.oneof(fc.array(action, { maxLength: 3 }), value) },
  { requiredKeys: [] },
);

const phases = fc.record(
  {
    on_tcp_connect: fc.oneof(fc.array(rule, { maxLength: 2 }), value),
    on_http_request: fc.oneof(fc.array(rule, { maxLength: 3 }), value),
    on_http_response: fc.oneof(fc.array(rule, { maxLength: 2 }), value),
    other: value,
  },
  { requiredKeys: [] },
);

/** A doc example with a few characters replaced, removed or inserted. */
const mutatedExample = fc
  .tuple(fc.constantFrom(...DOC_EXAMPLES), fc.array(fc.tuple(fc.nat(), fc.nat({ max: 3 }), fc.string({ maxLength: 3 })), { minLength: 1, maxLength: 3 }))
  .map(([doc, edits]) => edits.reduce((d, [at, cut, insert]) => d.slice(0, at % (d.length + 1)) + insert + d.slice((at % (d.length + 1)) + cut), doc));

const document = fc.oneof(
  phases.map((p) => stringify(p)),
  phases.map((p) => JSON.stringify(p)),
  mutatedExample,
  fc.constantFrom(...DOC_EXAMPLES),
  fc.string({ maxLength: 60 }),
);

/** Loads `source`; a failure must be a result with errors, or at most a POLICY_INVALID OnrampError. */
function load(source: string, kind: "agent" | "cloud"): Policy | undefined {
  let result: ReturnType<typeof loadPolicy>;
  try {
    result = loadPolicy(source, { kind });
  } catch (err) {
    expect(err).toBeInstanceOf(OnrampError);
    expect((err as OnrampError).code).toBe(ErrorCode.PolicyInvalid);
    return undefined;
  }
  if (result.ok) return result.policy;
  expect(result.errors.length).toBeGreaterThan(0);
  return undefined;
}

const requestArb = fc.record({
  method: fc.oneof(fc.constantFrom("GET", "POST", "DELETE", "OPTIONS"), fc.string({ minLength: 1, maxLength: 8 })),
  path: fc.oneof(fc.constantFrom("/", "/admin", "/a/b", "/a%2Fb"), fc.string({ maxLength: 20 }).map((s) => `/${s}`)),
  rawQuery: fc.oneof(fc.constant(""), fc.constantFrom("n=3", "n=x", "a=1&a=2"), fc.string({ maxLength: 10 })),
  headers: fc.array(fc.tuple(fc.constantFrom("x-api-key", "user-agent", "authorization", "accept-encoding", "x-other"), fc.string({ maxLength: 20 })), { maxLength: 5 }),
  clientIp: fc.constantFrom("203.0.113.7", "10.1.2.3", "::1", "127.0.0.1"),
  status: fc.integer({ min: 100, max: 599 }),
});

describe("loadPolicy on generated and mutated documents (property)", () => {
  it("starts from the doc examples", () => {
    expect(DOC_EXAMPLES.length).toBeGreaterThan(10);
  });

  it("loads a policy or reports errors, never throwing anything else", () => {
    fc.assert(
      fc.property(document, fc.constantFrom("agent" as const, "cloud" as const), (source, kind) => {
        load(source, kind);
      }),
      { numRuns: 1000 },
    );
  });

  it("evaluates what it loaded against random requests and responses without throwing", async () => {
    const rt = fakeRuntime();
    await fc.assert(
      fc.asyncProperty(document, fc.array(requestArb, { minLength: 1, maxLength: 3 }), async (source, requests) => {
        const policy = load(source, "agent");
        if (!policy) return;
        for (const r of requests) {
          const headers = new Map<string, string[]>([["host", ["api.example.com"]]]);
          for (const [k, v] of r.headers) headers.set(k, [...(headers.get(k) ?? []), v]);
          const ctx = createRequestContext({
            conn: { clientIp: r.clientIp, clientPort: 51234, startedAtMs: Date.UTC(2026, 0, 1) },
            endpoint: { id: "ep_1", url: "https://api.example.com", host: "api.example.com", protocol: "https" },
            request: { method: r.method, scheme: "https", host: "api.example.com", path: r.path, rawQuery: r.rawQuery, headers },
          });
          try {
            const out = await policy.onHttpRequest(ctx, rt);
            if (out.kind === "continue") await policy.onHttpResponse(ctx, { statusCode: r.status, headers: new Map([["content-type", ["text/plain"]]]) }, rt);
          } catch (err) {
            expect(err).toBeInstanceOf(OnrampError);
          }
        }
      }),
      { numRuns: 400 },
    );
  });
});
