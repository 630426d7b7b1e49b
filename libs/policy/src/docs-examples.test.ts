import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { type LoadPolicyOptions, loadPolicy } from "./load-policy.js";
import type { PolicyLogRecord } from "./outcome.js";
import { formatPolicyErrors } from "./policy-error.js";
import { type RequestInit, fakeRuntime, request, tcp } from "./test-fixtures.js";

/** The YAML examples of docs/traffic-policy.md, which must keep loading under the policy limits. */
const doc = readFileSync(new URL("../../../docs/traffic-policy.md", import.meta.url), "utf8");
const examples = [...doc.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1] ?? "");

/**
 * The examples run as on an edge with GeoIP (City and ASN) databases, IP categories and an
 * `office` IP policy, as the docs' IP intelligence and restrict-ips examples assume.
 */
const EDGE: LoadPolicyOptions = {
  ipIntelligence: { location: true, asn: true, categories: ["blocklist.firehol", "proxy.anonymous.tor"] },
  ipPolicies: { office: { allow: ["192.0.2.0/24"] } },
};

/** A whole policy, or the policies a snippet (a rule list, an action list) can be part of. */
function candidates(snippet: string): string[] {
  const indented = (text: string, by: string) => text.replace(/^(?=.)/gm, by);
  if (/^- (type|name|expressions):/m.test(snippet) && !/^on_/m.test(snippet)) {
    const rules = snippet.startsWith("- type:") ? `- actions:\n${indented(snippet, "    ")}` : snippet;
    return ["on_http_request", "on_http_response", "on_tcp_connect"].map((phase) => `${phase}:\n${indented(rules, "  ")}`);
  }
  return [snippet];
}

describe("the examples in docs/traffic-policy.md", () => {
  it("are there", () => {
    expect(examples.length).toBeGreaterThan(10);
  });

  it.each(examples.map((e, i) => [i, e] as const))("example %i loads", (_i, example) => {
    const results = candidates(example).map((text) => loadPolicy(text, EDGE));
    const errors = results.flatMap((r) => (r.ok ? [] : [formatPolicyErrors(r.errors)]));
    expect(results.some((r) => r.ok), errors.join("\n---\n")).toBe(true);
  });
});

/** Varied traffic: methods, headers, cookies, query strings, browsers and tools, IPv4 and IPv6. */
const REQUESTS: readonly RequestInit[] = [
  { method: "GET", url: "https://api.example.com/" },
  {
    method: "POST",
    url: "https://api.example.com/api/v1/items/7?a=1&a=2&b=",
    headers: {
      "content-type": "application/json; charset=utf-8",
      authorization: "Bearer not.a.jwt",
      "x-api-key": "k1",
      cookie: "session=abc; theme=dark",
      "user-agent": "curl/8.5.0",
      "accept-encoding": "gzip, br",
    },
    clientIp: "2001:db8::7",
    contentLength: 42,
  },
  {
    method: "GET",
    url: "http://www.example.com/v0/user/12/products/x?q=%20a",
    headers: {
      "user-agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Edg/120.0",
      cookie: "session=",
      "x-forwarded-for": "198.51.100.1",
    },
    clientIp: "10.66.1.2",
  },
  { method: "DELETE", url: "https://api.example.com/admin", headers: { authorization: "Basic dXNlcjpwYXNz" }, clientIp: "::ffff:192.0.2.1" },
];

const failures = (logs: readonly PolicyLogRecord[]) => logs.filter((l) => l.kind === "evaluation-error");

describe("the examples in docs/traffic-policy.md, run", () => {
  it.each(examples.map((e, i) => [i, e] as const))("example %i answers no request with a 500 or an evaluation error", async (_i, example) => {
    const policies = candidates(example).flatMap((text) => {
      const r = loadPolicy(text, EDGE);
      return r.ok ? [r.policy] : [];
    });
    for (const policy of policies) {
      for (const ip of ["203.0.113.7", "2001:db8::1"]) {
        const out = policy.onTcpConnect(tcp(ip), fakeRuntime());
        expect(failures(out.logs), `tcp from ${ip}`).toEqual([]);
      }
      for (const init of REQUESTS) {
        const what = `${init.method} ${init.url}`;
        const ctx = request(init);
        const out = await policy.onHttpRequest(ctx, fakeRuntime());
        expect(failures(out.logs), what).toEqual([]);
        if (out.kind === "respond") expect(out.status, what).not.toBe(500);
        for (const statusCode of [200, 503]) {
          const res = { statusCode, headers: new Map([["content-type", ["application/json"]]]) };
          const after = await policy.onHttpResponse(ctx, res, fakeRuntime());
          expect(failures(after.logs), `${what} → ${statusCode}`).toEqual([]);
          if (after.kind === "respond") expect(after.status, `${what} → ${statusCode}`).not.toBe(500);
        }
      }
    }
  });
});
