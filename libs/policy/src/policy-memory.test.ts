import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { compileExpression } from "./cel-compile.js";
import { createCelRuntime } from "./cel-env.js";
import { CelMeter } from "./cel-meter.js";
import { resolvePolicyLimits } from "./policy-limits.js";
import type { Policy } from "./policy.js";
import { RequestView, buildBindings } from "./request-view.js";
import { fakeRuntime, policyOf, request } from "./test-fixtures.js";

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

/** A distinct policy using everything that compiles or caches something: CEL, RE2, templates, rate limits. */
function policyText(i: number): string {
  return `on_http_request:
  - name: rule ${i}
    expressions: ["req.url.path.matches('^/v${i}/[a-z]+$') || getReqHeader('x-${i}').exists(v, v.split(',').exists(p, p == '${i}'))"]
    actions:
      - {type: add-headers, config: {headers: {x-n: "\${string(${i})}-\${req.url.path}"}}}
      - {type: rate-limit, config: {algorithm: sliding_window, capacity: 10, rate: 1m, bucket_key: ["conn.client_ip + '${i}'"]}}
      - {type: url-rewrite, config: {from: "^/v${i}/(.*)", to: "/w/$1"}}
`;
}

describe("policy memory", () => {
  it("keeps nothing of a policy once nobody holds it", async () => {
    const rt = fakeRuntime();
    const loadAndUse = async (i: number): Promise<WeakRef<Policy>> => {
      const policy = policyOf(policyText(i));
      await policy.onHttpRequest(request({ url: `https://api.example.com/v${i}/items`, headers: { [`x-${i}`]: `a,${i}` } }), rt);
      return new WeakRef(policy);
    };
    const refs: Array<WeakRef<Policy>> = [];
    for (let i = 0; i < 200; i++) refs.push(await loadAndUse(i));
    // A WeakRef holds its target until the job that made it ends.
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    expect(refs.flatMap((r, i) => (r.deref() === undefined ? [] : [i]))).toEqual([]);
  });

  it("bounds the patterns a policy keeps compiled when they come from request data", () => {
    const rt = createCelRuntime(resolvePolicyLimits());
    const compiled = compileExpression(rt, "'abc'.matches(req.headers['x-re'][0])", "on_http_request");
    if (!compiled.ok) throw new Error("did not compile");
    for (let i = 0; i < 300; i++) {
      const ctx = request({ headers: { "x-re": `${"a".repeat(1000)}${i}` } });
      const view = new RequestView(ctx.request);
      compiled.expr.evaluate({ bindings: buildBindings(ctx, view, undefined, () => 0, ""), macros: { request: view, response: undefined }, meter: new CelMeter(100_000) });
    }
    // 300 programs of ~1,000 instructions; at most 200,000 instructions are kept.
    expect(rt.regexes.instructions).toBeLessThanOrEqual(200_000);
    expect(rt.regexes.size).toBeGreaterThan(100);
    expect(rt.regexes.instructionsOf(`${"a".repeat(1000)}299`)).toBeGreaterThan(1000);
    expect(rt.regexes.instructionsOf(`${"a".repeat(1000)}0`)).toBeUndefined();
  });
});
