import { isCelList, isCelMap } from "@bufbuild/cel";
import { describe, expect, it } from "vitest";
import { compileExpression } from "./cel-compile.js";
import { createCelRuntime } from "./cel-env.js";
import { CelMeter } from "./cel-meter.js";
import type { Ty } from "./cel-types.js";
import { VARIABLES } from "./cel-variables.js";
import { DEFAULT_POLICY_LIMITS } from "./policy-limits.js";
import { RequestView, buildBindings } from "./request-view.js";
import { fakeRuntime, policyOf, request } from "./test-fixtures.js";

/** Why `v` is not a value of type `t`, or undefined when it is. Maps and lists are checked element by element. */
function mismatch(v: unknown, t: Ty, path: string): string | undefined {
  const is = (ok: boolean, what: string) => (ok ? undefined : `${path}: expected ${what}, got ${String(v)}`);
  switch (t.kind) {
    case "dyn":
    case "unsupported":
      return undefined;
    case "prim":
      if (t.name === "string") return is(typeof v === "string", "string");
      if (t.name === "int") return is(typeof v === "bigint", "int");
      if (t.name === "bool") return is(typeof v === "boolean", "bool");
      if (t.name === "timestamp") return is((v as { desc?: { typeName?: string } })?.desc?.typeName === "google.protobuf.Timestamp", "timestamp");
      if (t.name === "duration") return is((v as { desc?: { typeName?: string } })?.desc?.typeName === "google.protobuf.Duration", "duration");
      return `${path}: no check for ${t.name}`;
    case "list":
      if (!isCelList(v) && !Array.isArray(v)) return is(false, "list");
      return [...(v as Iterable<unknown>)].map((x, i) => mismatch(x, t.elem, `${path}[${i}]`)).find(Boolean);
    case "map":
    case "record": {
      if (!isCelMap(v) && !(v instanceof Map) && (typeof v !== "object" || v === null)) return is(false, "map");
      const entries: Array<[unknown, unknown]> = v instanceof Map || isCelMap(v) ? [...(v as Iterable<[unknown, unknown]>)] : Object.entries(v);
      if (t.kind === "map") return entries.map(([k, x]) => mismatch(k, t.key, `${path} key`) ?? mismatch(x, t.value, `${path}[${String(k)}]`)).find(Boolean);
      const present = new Map(entries);
      return Object.entries(t.fields).map(([f, ft]) => (present.has(f) ? mismatch(present.get(f), ft, `${path}.${f}`) : undefined)).find(Boolean);
    }
  }
}

/** Every path the checker accepts down to a value, with its declared type. */
function paths(t: Ty, path: string): Array<[string, Ty]> {
  if (t.kind !== "record") return t.kind === "unsupported" ? [] : [[path, t]];
  const own: Array<[string, Ty]> = t.stringForm ? [[path, { kind: "prim", name: "string" }]] : [];
  return [...own, ...Object.entries(t.fields).flatMap(([f, ft]) => paths(ft, `${path}.${f}`))];
}

describe("the declared types of the CEL variables", () => {
  const base = request({
    method: "POST",
    url: "https://api.example.com/a/b?x=1&x=2&y=",
    headers: {
      "user-agent": "Mozilla/5.0 (Linux; Android 14) Chrome/120.0 Mobile",
      cookie: "s=1; t=2",
      "content-type": "text/html; charset=utf-8",
      "content-encoding": "gzip",
      location: "/next",
    },
    contentLength: 12,
  });
  const ctx = { ...base, conn: { ...base.conn, socket: { bytesRead: 300, bytesWritten: 40, localAddress: "10.0.0.1", localPort: 443 } } };
  const res = {
    statusCode: 201,
    headers: new Map([
      ["content-type", ["text/plain; charset=utf-8"]],
      ["content-encoding", ["br"]],
      ["content-length", ["5"]],
      ["location", ["https://example.com/"]],
      ["set-cookie", ["a=1; Path=/x; Max-Age=60; Expires=Wed, 21 Oct 2026 07:28:00 GMT; Secure; HttpOnly; SameSite=Lax; Priority=High", "b=2"]],
    ]),
  };
  const view = new RequestView(ctx.request);
  const bindings = buildBindings(ctx, view, res, () => Date.UTC(2026, 0, 1), "eu");
  const cel = createCelRuntime(DEFAULT_POLICY_LIMITS);
  const roots = ["conn", "req", "res", "endpoint", "time"] as const;

  it.each(roots.flatMap((root) => paths(VARIABLES[root] as Ty, root)))("%s is what it is declared to be at run time", (path, type) => {
    const r = compileExpression(cel, path, "on_http_response");
    if (!r.ok) throw new Error(r.problems.map((p) => p.message).join("; "));
    const v = r.expr.evaluate({ bindings, macros: { request: view, response: res }, meter: new CelMeter(1e6) });
    expect(mismatch(v, type, path)).toBeUndefined();
  });

  it("matches what actions record under actions.ngrok", async () => {
    const policy = policyOf(`
on_http_request:
  - actions:
      - {type: add-headers, config: {headers: {x-a: "1"}}}
      - {type: remove-headers, config: {headers: [x-b]}}
      - {type: restrict-ips, config: {allow: ["0.0.0.0/0"]}}
      - {type: rate-limit, config: {algorithm: sliding_window, capacity: 10, rate: 1m, bucket_key: ["conn.client_ip"]}}
      - {type: url-rewrite, config: {from: "/a", to: "/c"}}
      - {type: log, config: {metadata: {k: v}}}
`);
    const c = request({ url: "https://api.example.com/a" });
    expect((await policy.onHttpRequest(c, fakeRuntime())).kind).toBe("continue");
    const declared = (VARIABLES["actions"] as Ty & { kind: "record" }).fields["ngrok"] as Ty & { kind: "record" };
    expect([...c.actionResults.keys()].sort()).toEqual(["add_headers", "log", "rate_limit", "remove_headers", "restrict_ips", "url_rewrite"]);
    for (const [name, value] of c.actionResults) {
      const type = declared.fields[name];
      expect(type, name).toBeDefined();
      expect(mismatch(value, type as Ty, name)).toBeUndefined();
      expect(Object.keys(value as object).sort(), name).toEqual(Object.keys((type as Ty & { kind: "record" }).fields).sort());
    }
  });
});
