import { createInProcessBus, Gossip, InProcessBusHub } from "@onramp/mesh";
import { createEtcdControlStore, createEtcdRegistry, createMemoryControlStore, createMemoryRegistry, MemoryRegistryStore, PREFIX } from "@onramp/registry";
import type { BindingRecord, ControlStore, Registry } from "@onramp/registry";
import { silentLogger } from "@onramp/telemetry";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { etcdAvailable, etcdGateway, startEtcd, type EtcdServer } from "../../../e2e/harness/etcd-server.js";
import { startRegistryApiServer, type RegistryApiServer, type RegistryApiServerOptions } from "./index.js";

/**
 * The registry API's contract (/tmp/api-contract.md, docs/openapi.json) over real HTTP on
 * loopback, against each ControlStore: the memory one an embedded edge shares, and etcd.
 */

const BOOTSTRAP_KEY = "bootstrap-key-0123456789abcdef";
const MIB = 1024 * 1024;
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** Where the API's state lives, and an edge's registry over the same state (for bindings and edges to show up). */
interface Backend {
  open(): ControlStore;
  edge(): Registry;
  clear(): Promise<void>;
}

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  body: any;
}

const CLOUD_POLICY = "on_http_request:\n  - actions:\n      - type: custom-response\n        config: { status_code: 200, body: up }\n";

const bindingOf = (agent: string, edge: string, host: string, extra: Partial<BindingRecord> = {}): BindingRecord => ({
  url: `https://${host}`,
  host,
  pooling: false,
  traffic_policy: "",
  policy_hash: "",
  edge,
  region: edge === "edge-a" ? "eu" : "us",
  agent_id: agent,
  session_id: `session-${agent}`,
  bind_id: `bind-${agent}`,
  upstream: "http://localhost:3000",
  bound_at: new Date().toISOString(),
  ...extra,
});

function registryApiContract(name: string, makeBackend: () => Backend): void {
  describe(`registry API over the ${name} store`, () => {
    const backend = makeBackend();
    const stores: ControlStore[] = [];
    const servers: RegistryApiServer[] = [];
    const edges: Registry[] = [];
    let base = "";

    const start = async (options: Partial<RegistryApiServerOptions> = {}) => {
      const store = backend.open();
      stores.push(store);
      const server = await startRegistryApiServer({ store, apiKeys: [BOOTSTRAP_KEY], logger: silentLogger(), addr: "127.0.0.1:0", ...options });
      servers.push(server);
      return { server, store, url: `http://${server.address}` };
    };
    const edge = async (id: string) => {
      const registry = backend.edge();
      edges.push(registry);
      await registry.registerEdge({ id, region: id === "edge-a" ? "eu" : "us", advertise: `${id}:4443`, http: `${id}:80`, started_at: "2026-01-01T00:00:00.000Z", version: "test" });
      return registry;
    };

    /** One request; `key: null` sends none. The body is JSON unless `raw` is given. */
    const call = async (method: string, path: string, options: { key?: string | null; body?: unknown; raw?: string; at?: string } = {}): Promise<Answer> => {
      const key = options.key === undefined ? BOOTSTRAP_KEY : options.key;
      const headers: Record<string, string> = { "content-type": "application/json" };
      if (key !== null) headers.authorization = `Bearer ${key}`;
      const payload = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
      const res = await fetch(`${options.at ?? base}${path}`, { method, headers, body: payload, signal: AbortSignal.timeout(10_000) });
      const text = await res.text();
      return { status: res.status, headers: res.headers, text, body: text ? JSON.parse(text) : undefined };
    };

    /** An error answer as the contract shapes it. */
    const expectError = (answer: Answer, status: number, code: string) => {
      expect(answer.status, answer.text).toBe(status);
      expect(answer.headers.get("onramp-error-code")).toBe(`ERR_ONRAMP_${code}`);
      expect(answer.headers.get("content-type")).toBe("application/json");
      expect(answer.body).toEqual({ error_code: `ERR_ONRAMP_${code}`, status_code: status, msg: expect.any(String), details: expect.any(Object) });
      return answer.body as { msg: string; details: Record<string, any> };
    };

    /** Follows `next_page_uri` from the first page to the last. */
    const everyPage = async (resource: string, limit: number) => {
      const pages: any[][] = [];
      let next: string | null = `/v1/${resource}?limit=${limit}`;
      while (next !== null) {
        const answer = await call("GET", next);
        expect(answer.status, answer.text).toBe(200);
        pages.push(answer.body[resource]);
        next = answer.body.next_page_uri;
        if (next !== null) expect(next).toMatch(new RegExp(`^/v1/${resource}\\?limit=${limit}&cursor=[A-Za-z0-9_%-]+$`));
      }
      return pages;
    };

    beforeEach(async () => {
      await backend.clear();
      base = (await start()).url;
    });
    afterEach(async () => {
      await Promise.all(servers.splice(0).map((s) => s.close()));
      await Promise.all([...stores.splice(0).map((s) => s.close()), ...edges.splice(0).map((r) => r.close())]);
    });

    it("serves /healthz and /openapi.json without a key; the document is docs/openapi.json", async () => {
      expect(await call("GET", "/healthz", { key: null })).toMatchObject({ status: 200, body: { status: "ok" } });
      const doc = await call("GET", "/openapi.json", { key: null });
      expect(doc.status).toBe(200);
      expect(doc.headers.get("content-type")).toBe("application/json");
      expect(doc.body).toEqual(JSON.parse(readFileSync(new URL("../../../docs/openapi.json", import.meta.url), "utf8")));
      expect(doc.body).toMatchObject({ openapi: "3.1.0", servers: [{ url: "/v1" }] });
      expectError(await call("POST", "/openapi.json", { key: null }), 405, "INVALID_ARGUMENT");
    });

    it("answers 401 without a key, with a wrong one or a malformed header, and never repeats the key", async () => {
      for (const path of ["/v1/authtokens", "/v1/edges", "/v1/does-not-exist"]) {
        const missing = expectError(await call("GET", path, { key: null }), 401, "UNAUTHORIZED");
        expect(missing.msg).toMatch(/needs an API key: send Authorization: Bearer <key>/);
      }
      const wrongKey = "onrapi_not-a-key-anyone-made-0123456789";
      const wrong = await call("GET", "/v1/authtokens", { key: wrongKey });
      expect(expectError(wrong, 401, "UNAUTHORIZED").msg).toMatch(/not valid/);
      expect(wrong.headers.get("www-authenticate")).toMatch(/^Bearer/);
      expect(wrong.text).not.toContain(wrongKey);
      const res = await fetch(`${base}/v1/authtokens`, { headers: { authorization: `Basic ${Buffer.from(`x:${BOOTSTRAP_KEY}`).toString("base64")}` } });
      expect(res.status).toBe(401);
      expect(await res.text()).not.toContain(BOOTSTRAP_KEY);
      expect((await call("GET", "/v1/authtokens")).status).toBe(200);
    });

    it("with no key configured, answers 401 saying how to configure one, and still serves the public paths", async () => {
      const { url } = await start({ apiKeys: [] });
      const refused = expectError(await call("GET", "/v1/authtokens", { at: url, key: "some-key-0123456789abcdef" }), 401, "UNAUTHORIZED");
      expect(refused.msg).toMatch(/started without an API key: pass --api-key KEY \(or set ONRAMP_API_KEY\)/);
      expect((await call("GET", "/healthz", { at: url, key: null })).status).toBe(200);
      expect((await call("GET", "/openapi.json", { at: url, key: null })).status).toBe(200);
    });

    it("creates, gets, lists, updates and revokes authtokens; the secret is in the create answer only", async () => {
      const made = await call("POST", "/v1/authtokens", { body: { description: "ci runners", acl: [" bind:*.example.com", "bind:foo.internal"] } });
      expect(made.status, made.text).toBe(201);
      const { token, ...shown } = made.body;
      expect(token).toMatch(/^onr_/);
      expect(shown).toEqual({
        id: expect.stringMatching(/^tok_[a-z2-7]{20}$/),
        uri: `/v1/authtokens/${shown.id}`,
        description: "ci runners",
        acl: ["bind:*.example.com", "bind:foo.internal"],
        token_prefix: token.slice(0, 12),
        created_at: expect.any(String),
      });
      const got = await call("GET", shown.uri);
      expect(got).toMatchObject({ status: 200, body: shown });
      const listed = await call("GET", "/v1/authtokens");
      expect(listed.body).toEqual({ authtokens: [shown], next_page_uri: null });
      for (const answer of [got, listed]) {
        expect(answer.text).not.toContain(token.slice(12));
        expect(answer.text).not.toContain(sha256(token));
      }
      expect((await call("POST", "/v1/authtokens")).status).toBe(201); // no body: no description, no ACL

      const patched = await call("PATCH", shown.uri, { body: { acl: ["bind:app.example.com"] } });
      expect(patched).toMatchObject({ status: 200, body: { ...shown, acl: ["bind:app.example.com"] } });
      expect(patched.text).not.toContain(token.slice(12));
      expect((await call("PATCH", shown.uri, { body: { description: "renamed" } })).body).toEqual({ ...shown, acl: ["bind:app.example.com"], description: "renamed" });

      const revoked = await call("DELETE", shown.uri);
      expect(revoked.status).toBe(204);
      expect(revoked.text).toBe("");
      for (const [method, body] of [["GET"], ["PATCH", { description: "x" }], ["DELETE"]] as const) {
        expect(expectError(await call(method, shown.uri, { body }), 404, "NOT_FOUND").msg).toBe(`authtoken ${shown.id} does not exist`);
      }
    });

    it("refuses a bad ACL rule naming it, and other bad input naming the field", async () => {
      const badRule = expectError(await call("POST", "/v1/authtokens", { body: { acl: ["bind:ok.example.com", "bind:app.*.example.com"] } }), 400, "INVALID_ARGUMENT");
      expect(badRule.details).toEqual({ field: "acl[1]" });
      expect(badRule.msg).toMatch(/^acl\[1\]: invalid ACL rule "bind:app\.\*\.example\.com": the wildcard must be the whole leftmost label/);
      expect(expectError(await call("POST", "/v1/authtokens", { body: { acl: ["deploy:x"] } }), 400, "INVALID_ARGUMENT").msg).toMatch(/unknown verb "deploy"/);

      const cases: [string, string, unknown, string][] = [
        ["POST", "/v1/authtokens", { acl: "bind:*" }, "acl"],
        ["POST", "/v1/authtokens", { acl: ["bind:a.example.com", "  "] }, "acl[1]"],
        ["POST", "/v1/authtokens", { description: "x".repeat(256) }, "description"],
        ["POST", "/v1/authtokens", { description: 7 }, "description"],
        ["POST", "/v1/authtokens", { acls: [] }, "acls"],
        ["POST", "/v1/reserved_domains", {}, "name"],
        ["POST", "/v1/reserved_domains", { name: "app.*.example.com" }, "name"],
        ["POST", "/v1/cloud_endpoints", { url: "https://x.example.com/path", traffic_policy: CLOUD_POLICY }, "url"],
        ["POST", "/v1/cloud_endpoints", { url: "https://x.example.com" }, "traffic_policy"],
        ["POST", "/v1/api_keys", { description: ["x"] }, "description"],
      ];
      for (const [method, path, body, field] of cases) {
        const answer = await call(method, path, { body });
        expect(expectError(answer, 400, "INVALID_ARGUMENT").details, `${method} ${path} ${JSON.stringify(body)}: ${answer.text}`).toEqual({ field });
      }
      expect(expectError(await call("POST", "/v1/authtokens", { raw: '{"description": ' }), 400, "INVALID_ARGUMENT").msg).toBe("the request body is not valid JSON");
      expect(expectError(await call("POST", "/v1/authtokens", { raw: "[1, 2]" }), 400, "INVALID_ARGUMENT").msg).toBe("the request body must be a JSON object");
      expect((await call("GET", "/v1/authtokens")).body.authtokens).toEqual([]);
    });

    it("pages every list through next_page_uri", async () => {
      for (let i = 0; i < 5; i++) {
        expect((await call("POST", "/v1/authtokens", { body: { description: `t${i}` } })).status).toBe(201);
        expect((await call("POST", "/v1/reserved_domains", { body: { name: `d${i}.example.com` } })).status).toBe(201);
        expect((await call("POST", "/v1/cloud_endpoints", { body: { url: `https://c${i}.example.com`, traffic_policy: CLOUD_POLICY } })).status).toBe(201);
        expect((await call("POST", "/v1/api_keys", { body: { description: `k${i}` } })).status).toBe(201);
      }
      const expected = { authtokens: 5, reserved_domains: 5, cloud_endpoints: 5, api_keys: 6 }; // and the bootstrap key
      for (const [resource, count] of Object.entries(expected)) {
        const pages = await everyPage(resource, 2);
        expect(pages.map((p) => p.length), resource).toEqual([2, 2, count - 4]);
        const ids = pages.flat().map((item) => item.id);
        expect(new Set(ids).size).toBe(count);
        const whole = await call("GET", `/v1/${resource}`);
        expect(whole.body[resource].map((item: { id: string }) => item.id)).toEqual(ids);
        expect(whole.body.next_page_uri).toBeNull();
      }
      for (const query of ["limit=0", "limit=1001", "limit=2.5", "limit=abc"]) {
        expect(expectError(await call("GET", `/v1/authtokens?${query}`), 400, "INVALID_ARGUMENT").details).toEqual({ field: "limit" });
      }
      const domainsCursor = new URL((await call("GET", "/v1/reserved_domains?limit=1")).body.next_page_uri, base).searchParams.get("cursor");
      for (const cursor of ["not-a-cursor!", domainsCursor!]) {
        expect(expectError(await call("GET", `/v1/authtokens?cursor=${encodeURIComponent(cursor)}`), 400, "INVALID_ARGUMENT").details).toEqual({ field: "cursor" });
      }
    });

    it("reserves a domain once under its name as id, percent-encoded, and releases it", async () => {
      const made = await call("POST", "/v1/reserved_domains", { body: { name: "*.Example.COM.", description: "all of it" } });
      expect(made.status, made.text).toBe(201);
      expect(made.body).toEqual({ id: "*.example.com", uri: "/v1/reserved_domains/%2A.example.com", name: "*.example.com", description: "all of it", created_at: expect.any(String) });
      expect((await call("GET", made.body.uri)).body).toEqual(made.body);
      expect((await call("GET", "/v1/reserved_domains/*.example.com")).body).toEqual(made.body);
      expect((await call("GET", "/v1/reserved_domains")).body).toEqual({ reserved_domains: [made.body], next_page_uri: null });
      expect(expectError(await call("POST", "/v1/reserved_domains", { body: { name: "*.example.com" } }), 409, "ALREADY_EXISTS").msg).toMatch(/already reserved/);

      expect((await call("DELETE", made.body.uri)).status).toBe(204);
      expectError(await call("GET", made.body.uri), 404, "NOT_FOUND");
      expectError(await call("DELETE", made.body.uri), 404, "NOT_FOUND");
      expectError(await call("GET", "/v1/reserved_domains/not_a%20host"), 404, "NOT_FOUND");
    });

    it("creates, gets, lists, updates and deletes cloud endpoints, storing what the edges read", async () => {
      const store = stores[0]!;
      const made = await call("POST", "/v1/cloud_endpoints", { body: { url: "HTTPS://Status.Example.com", traffic_policy: CLOUD_POLICY, description: "status page" } });
      expect(made.status, made.text).toBe(201);
      const id = `cep_${sha256("status.example.com").slice(0, 16)}`;
      expect(made.body).toEqual({
        id,
        uri: `/v1/cloud_endpoints/${id}`,
        url: "https://status.example.com",
        host: "status.example.com",
        traffic_policy: CLOUD_POLICY,
        description: "status page",
        created_at: expect.any(String),
        updated_at: made.body.created_at,
      });
      const keyId = `key_${sha256(`bootstrap ${sha256(BOOTSTRAP_KEY)}`).slice(0, 20)}`;
      expect(await store.getCloudEndpoint("status.example.com")).toMatchObject({ url: "https://status.example.com", traffic_policy: CLOUD_POLICY, source: "api", updated_by: `api:${keyId}` });
      expect((await call("GET", made.body.uri)).body).toEqual(made.body);
      expect((await call("GET", "/v1/cloud_endpoints")).body).toEqual({ cloud_endpoints: [made.body], next_page_uri: null });
      expect(expectError(await call("POST", "/v1/cloud_endpoints", { body: { url: "status.example.com", traffic_policy: CLOUD_POLICY } }), 409, "ALREADY_EXISTS").msg).toContain(id);

      const asObject = { on_http_request: [{ actions: [{ type: "custom-response", config: { status_code: 503 } }] }] };
      const patched = await call("PATCH", made.body.uri, { body: { traffic_policy: asObject } });
      expect(patched.status, patched.text).toBe(200);
      expect(patched.body).toMatchObject({ id, description: "status page", created_at: made.body.created_at, traffic_policy: JSON.stringify(asObject, null, 2) });
      expect((await call("PATCH", made.body.uri, { body: { description: "down" } })).body).toMatchObject({ description: "down", traffic_policy: JSON.stringify(asObject, null, 2) });
      expectError(await call("PATCH", made.body.uri, { body: { url: "https://moved.example.com" } }), 400, "INVALID_ARGUMENT");

      expect((await call("DELETE", made.body.uri)).status).toBe(204);
      await expect(store.getCloudEndpoint("status.example.com")).rejects.toMatchObject({ code: "NOT_FOUND" });
      for (const method of ["GET", "PATCH", "DELETE"]) expectError(await call(method, made.body.uri, method === "PATCH" ? { body: {} } : {}), 404, "NOT_FOUND");
      expectError(await call("GET", "/v1/cloud_endpoints/cep_nothex"), 404, "NOT_FOUND");
    });

    it("refuses a broken policy with 422 and each problem's line and column", async () => {
      const broken = "on_http_request:\n  - expressions: [\"req.url.path.startsWith(\"]\n    actions:\n      - type: custom-response\n        config: { status_code: 200 }\n";
      const refused = expectError(await call("POST", "/v1/cloud_endpoints", { body: { url: "https://api.example.com", traffic_policy: broken } }), 422, "POLICY_INVALID");
      expect(refused.details.errors).toEqual([{ message: expect.any(String), line: 2, column: expect.any(Number), rule: "on_http_request[0]", field: "expressions[0]" }]);
      expect(refused.details.errors[0].column).toBeGreaterThan(18);
      expect(refused.msg).toMatch(/^the traffic policy has a problem:\ntraffic_policy:2:\d+: on_http_request\[0\]: expressions\[0\]: /);

      // A cloud endpoint has no upstream: a request must not fall through.
      const open = "on_http_request:\n  - expressions: [\"req.method == 'GET'\"]\n    actions:\n      - type: custom-response\n        config: { status_code: 200 }\n";
      const fallsThrough = expectError(await call("POST", "/v1/cloud_endpoints", { body: { url: "https://api.example.com", traffic_policy: open } }), 422, "POLICY_INVALID");
      expect(fallsThrough.details.errors.length).toBeGreaterThan(0);

      expect((await call("POST", "/v1/cloud_endpoints", { body: { url: "https://api.example.com", traffic_policy: CLOUD_POLICY } })).status).toBe(201);
      const id = `cep_${sha256("api.example.com").slice(0, 16)}`;
      expectError(await call("PATCH", `/v1/cloud_endpoints/${id}`, { body: { traffic_policy: broken } }), 422, "POLICY_INVALID");
      expect((await call("GET", `/v1/cloud_endpoints/${id}`)).body.traffic_policy).toBe(CLOUD_POLICY);
      expect((await call("GET", "/v1/cloud_endpoints")).body.cloud_endpoints).toHaveLength(1);
    });

    it("refuses a cloud endpoint over a host agents hold, with 409 BIND_CONFLICT", async () => {
      const a = await edge("edge-a");
      await a.claimBinding(bindingOf("agent-1", "edge-a", "app.example.com"));
      const refused = expectError(await call("POST", "/v1/cloud_endpoints", { body: { url: "https://app.example.com", traffic_policy: CLOUD_POLICY } }), 409, "BIND_CONFLICT");
      expect(refused.msg).toMatch(/agents hold it \(1 binding, e\.g\. on edge edge-a\)/);
      expect((await call("GET", "/v1/cloud_endpoints")).body.cloud_endpoints).toEqual([]);
    });

    it("creates, lists and revokes API keys; a revoked key is refused at once", async () => {
      const made = await call("POST", "/v1/api_keys", { body: { description: "deploy bot" } });
      expect(made.status, made.text).toBe(201);
      const { key, ...shown } = made.body;
      expect(key).toMatch(/^onrapi_/);
      expect(shown).toEqual({ id: expect.stringMatching(/^key_/), uri: `/v1/api_keys/${shown.id}`, description: "deploy bot", created_at: expect.any(String) });
      const listed = await call("GET", "/v1/api_keys", { key });
      expect(listed.status).toBe(200);
      expect(listed.body.api_keys).toContainEqual(shown);
      expect(listed.text).not.toContain(key.slice(7));
      expect(listed.text).not.toContain(sha256(key));
      expect(listed.text).not.toContain(sha256(BOOTSTRAP_KEY));

      const notGettable = expectError(await call("GET", shown.uri), 405, "INVALID_ARGUMENT");
      expect(notGettable.details).toEqual({ allowed: ["DELETE"] });
      expect((await call("DELETE", shown.uri)).status).toBe(204);
      expectError(await call("GET", "/v1/authtokens", { key }), 401, "UNAUTHORIZED");
      expectError(await call("DELETE", shown.uri), 404, "NOT_FOUND");
    });

    it("shows the mesh's endpoints and edges from its bindings and cloud endpoints", async () => {
      const [a, b] = [await edge("edge-a"), await edge("edge-b")];
      await a.claimBinding(bindingOf("agent-1", "edge-a", "app.example.com", { pooling: true, weight: 3 }));
      await b.claimBinding(bindingOf("agent-2", "edge-b", "app.example.com", { pooling: true }));
      await a.claimBinding(bindingOf("agent-3", "edge-a", "solo.example.com"));
      expect((await call("POST", "/v1/cloud_endpoints", { body: { url: "https://status.example.com", traffic_policy: CLOUD_POLICY } })).status).toBe(201);

      const epId = (host: string) => `ep_${sha256(host).slice(0, 12)}`;
      const member = (agent: string, edgeId: string, weight: number) => ({
        edge: edgeId,
        region: edgeId === "edge-a" ? "eu" : "us",
        agent_id: agent,
        session_id: `session-${agent}`,
        upstream: "http://localhost:3000",
        weight,
        healthy: null, // this API has no bus
        load: null,
      });
      const app = { id: epId("app.example.com"), url: "https://app.example.com", type: "agent", pooling: true, members: [member("agent-1", "edge-a", 3), member("agent-2", "edge-b", 1)] };
      const solo = { id: epId("solo.example.com"), url: "https://solo.example.com", type: "agent", pooling: false, members: [member("agent-3", "edge-a", 1)] };
      const status = { id: epId("status.example.com"), url: "https://status.example.com", type: "cloud", pooling: false, members: [] };
      expect((await call("GET", "/v1/endpoints")).body).toEqual({ endpoints: [app, solo, status], next_page_uri: null });
      expect((await call("GET", `/v1/endpoints/${app.id}`)).body).toEqual(app);
      expectError(await call("GET", `/v1/endpoints/${epId("gone.example.com")}`), 404, "NOT_FOUND");

      const edgeView = (id: string, bindings: number) => ({
        id,
        uri: `/v1/edges/${id}`,
        region: id === "edge-a" ? "eu" : "us",
        advertise: `${id}:4443`,
        http: `${id}:80`,
        started_at: "2026-01-01T00:00:00.000Z",
        version: "test",
        bindings,
        sessions: 0,
        last_heartbeat: null, // this API has no bus
      });
      expect((await call("GET", "/v1/edges")).body).toEqual({ edges: [edgeView("edge-a", 2), edgeView("edge-b", 1)], next_page_uri: null });
      expect((await call("GET", "/v1/edges/edge-b")).body).toEqual(edgeView("edge-b", 1));
      expectError(await call("GET", "/v1/edges/edge-z"), 404, "NOT_FOUND");
    });

    it("counts each edge's sessions, and adds the heartbeats and members' health and load its bus carries", async () => {
      const hub = new InProcessBusHub();
      const { url } = await start({ bus: createInProcessBus(hub) });
      const [a, b] = [await edge("edge-a"), await edge("edge-b")];
      const pooled = await a.claimBinding(bindingOf("agent-1", "edge-a", "app.example.com", { pooling: true, weight: 3 }));
      const solo = await a.claimBinding(bindingOf("agent-2", "edge-a", "solo.example.com"));
      await b.claimBinding(bindingOf("agent-3", "edge-b", "app.example.com", { pooling: true }));
      const sessions: [Registry, string, string][] = [[a, "edge-a", "s-1"], [a, "edge-a", "s-2"], [b, "edge-b", "s-3"]];
      for (const [registry, edgeId, id] of sessions) {
        await registry.putSession({ id, edge: edgeId, agent_id: `agent-${id}`, remote: "127.0.0.1:5000", started_at: new Date().toISOString() });
      }

      /** Asks until `check` holds of the answer: a bounded wait for what the bus delivers, never a sleep. */
      const until = async (what: string, path: string, check: (body: any) => boolean) => {
        const deadline = Date.now() + 5_000;
        for (;;) {
          const answer = await call("GET", path, { at: url });
          if (answer.status === 200 && check(answer.body)) return answer.body;
          if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${answer.text}`);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      };
      const member = (body: any, host: string, agent: string) => body.endpoints.find((e: any) => e.url === `https://${host}`).members.find((m: any) => m.agent_id === agent);

      // edge-a's gossip, as the edge runs it: a heartbeat with its pooled members' status, and an update when a member's health changes.
      const gossip = new Gossip({
        bus: createInProcessBus(hub),
        edgeId: "edge-a",
        region: "eu",
        advertise: "edge-a:4443",
        ownBindings: () => [],
        digestOf: () => "",
        ownStatuses: () => [{ key: pooled.key, revision: pooled.revision, healthy: true, load: 2, detail: "" }],
        handlers: { delta: () => undefined, snapshot: () => undefined, peerUp: () => undefined, peerDown: () => undefined },
      });
      const before = Date.now();
      try {
        // About an earlier write of the key (an agent that bound again): not this member's health. The bus delivers in order, so it is heard before the heartbeat.
        gossip.publishStatus([{ key: solo.key, revision: solo.revision - 1, healthy: false, load: 9, detail: "stale" }]);
        gossip.start();
        const edges = await until("edge-a's heartbeat", "/v1/edges", (body) => body.edges[0].last_heartbeat !== null);
        const heard = Date.parse(edges.edges[0].last_heartbeat);
        expect(heard).toBeGreaterThanOrEqual(before);
        expect(heard).toBeLessThanOrEqual(Date.now());
        expect(edges.edges.map((e: any) => [e.id, e.bindings, e.sessions, e.last_heartbeat === null])).toEqual([
          ["edge-a", 2, 2, false],
          ["edge-b", 1, 1, true],
        ]);
        expect((await call("GET", "/v1/edges/edge-a", { at: url })).body).toMatchObject({ sessions: 2, last_heartbeat: edges.edges[0].last_heartbeat });

        const endpoints = await until("the pooled member's status", "/v1/endpoints", (body) => member(body, "app.example.com", "agent-1").healthy !== null);
        expect(member(endpoints, "app.example.com", "agent-1")).toMatchObject({ weight: 3, healthy: true, load: 2 });
        expect(member(endpoints, "app.example.com", "agent-3")).toMatchObject({ healthy: null, load: null }); // edge-b says nothing
        expect(member(endpoints, "solo.example.com", "agent-2")).toMatchObject({ healthy: null, load: null });

        // A non-pooled member's status comes with a change of health only: its load would be stale.
        gossip.publishStatus([{ key: solo.key, revision: solo.revision, healthy: false, load: 4, detail: "connection refused" }]);
        const changed = await until("the non-pooled member's status", "/v1/endpoints", (body) => member(body, "solo.example.com", "agent-2").healthy !== null);
        expect(member(changed, "solo.example.com", "agent-2")).toMatchObject({ healthy: false, load: null });
        const soloId = `ep_${sha256("solo.example.com").slice(0, 12)}`;
        expect((await call("GET", `/v1/endpoints/${soloId}`, { at: url })).body.members).toEqual([expect.objectContaining({ agent_id: "agent-2", healthy: false, load: null })]);
      } finally {
        await gossip.close();
      }
      // Leaving, the edge says so: what was heard of it is forgotten at once.
      await until("edge-a's goodbye", "/v1/edges", (body) => body.edges[0].last_heartbeat === null);
      expect(member((await call("GET", "/v1/endpoints", { at: url })).body, "app.example.com", "agent-1")).toMatchObject({ healthy: null, load: null });
    });

    it("answers 404 for an unknown path or a malformed id, and 405 for a method a path does not take", async () => {
      for (const path of ["/v1/nothing", "/v1/authtokens/tok_x/more", "/v2/authtokens", "/", "/v1/authtokens/"]) {
        expect(expectError(await call("GET", path), 404, "NOT_FOUND").msg).toMatch(/no such path/);
      }
      const wrongMethod = await call("PUT", "/v1/authtokens", { body: {} });
      expect(expectError(wrongMethod, 405, "INVALID_ARGUMENT").details).toEqual({ allowed: ["POST", "GET"] });
      expect(wrongMethod.headers.get("allow")).toBe("POST, GET");
      expect((await call("PUT", "/v1/authtokens", { key: null })).status).toBe(401);

      // A secret pasted where an id goes is not repeated back.
      const { token } = (await call("POST", "/v1/authtokens")).body;
      const { key } = (await call("POST", "/v1/api_keys")).body;
      for (const path of [`/v1/authtokens/${token}`, `/v1/api_keys/${key}`, `/v1/reserved_domains/${token}`, `/v1/cloud_endpoints/${token}`, `/v1/edges/${token}`, `/v1/endpoints/${key}`]) {
        const answer = await call(path.startsWith("/v1/api_keys") ? "DELETE" : "GET", path);
        expectError(answer, 404, "NOT_FOUND");
        expect(answer.text).not.toContain(token);
        expect(answer.text).not.toContain(key);
      }
    });

    it("answers 413 to a body over 1 MiB, declared or streamed, and takes one of exactly 1 MiB", async () => {
      const url = new URL(base);
      const post = (body: Buffer, chunked: boolean) =>
        new Promise<{ status: number; code: string | undefined; text: string }>((resolve, reject) => {
          const headers: Record<string, string | number> = { authorization: `Bearer ${BOOTSTRAP_KEY}`, "content-type": "application/json" };
          if (!chunked) headers["content-length"] = body.length;
          const req = httpRequest({ host: url.hostname, port: url.port, method: "POST", path: "/v1/authtokens", headers }, (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => resolve({ status: res.statusCode!, code: res.headers["onramp-error-code"] as string | undefined, text: Buffer.concat(chunks).toString() }));
            res.on("error", reject);
          });
          req.on("error", reject);
          if (chunked) {
            // Several writes, so the server counts as bytes arrive.
            for (let at = 0; at < body.length; at += 64 * 1024) req.write(body.subarray(at, at + 64 * 1024));
            req.end();
          } else req.end(body);
        });
      const padded = (size: number) => {
        const json = Buffer.from('{"description": "big"}');
        return Buffer.concat([Buffer.alloc(size - json.length, " "), json]);
      };
      for (const chunked of [false, true]) {
        const refused = await post(padded(MIB + 1), chunked);
        expect(refused.status, `chunked: ${chunked}`).toBe(413);
        expect(refused.code).toBe("ERR_ONRAMP_BODY_TOO_LARGE");
        expect(JSON.parse(refused.text)).toMatchObject({ error_code: "ERR_ONRAMP_BODY_TOO_LARGE", status_code: 413 });
        expect((await post(padded(MIB), chunked)).status).toBe(201);
      }
      expect((await call("GET", "/v1/authtokens")).body.authtokens).toHaveLength(2);
    });
  });
}

registryApiContract("memory", () => {
  let shared = new MemoryRegistryStore();
  return {
    open: () => createMemoryControlStore(shared),
    edge: () => createMemoryRegistry(shared),
    clear: async () => void (shared = new MemoryRegistryStore()),
  };
});

const etcdDescribe = etcdAvailable() ? describe : describe.skip;

etcdDescribe("registry API over etcd", () => {
  let etcd: EtcdServer;
  beforeAll(async () => {
    etcd = await startEtcd();
  }, 30_000);
  afterAll(() => etcd?.stop());

  const clear = () => etcdGateway(etcd.url).deletePrefix(PREFIX);

  registryApiContract("etcd", () => ({
    open: () => createEtcdControlStore({ endpoints: [etcd.url] }),
    edge: () => createEtcdRegistry({ endpoints: [etcd.url] }),
    clear,
  }));

  it("answers 503 REGISTRY_UNAVAILABLE while etcd does not answer, and serves again once it does", async () => {
    await clear();
    const store = createEtcdControlStore({ endpoints: [etcd.url], requestTimeoutMs: 500 });
    const server = await startRegistryApiServer({ store, apiKeys: [BOOTSTRAP_KEY], logger: silentLogger(), addr: "127.0.0.1:0", keyCacheMs: 0 });
    const list = () => fetch(`http://${server.address}/v1/authtokens`, { headers: { authorization: `Bearer ${BOOTSTRAP_KEY}` }, signal: AbortSignal.timeout(10_000) });
    try {
      expect((await list()).status).toBe(200);
      etcd.pause();
      const res = await list();
      expect(res.status).toBe(503);
      expect(res.headers.get("onramp-error-code")).toBe("ERR_ONRAMP_REGISTRY_UNAVAILABLE");
      expect(await res.json()).toMatchObject({ error_code: "ERR_ONRAMP_REGISTRY_UNAVAILABLE", status_code: 503, msg: expect.stringMatching(/did not answer within 500 ms/) });
      const health = await fetch(`http://${server.address}/healthz`, { signal: AbortSignal.timeout(10_000) });
      expect(health.status).toBe(200);
      etcd.resume();
      expect((await list()).status).toBe(200);
    } finally {
      etcd.resume();
      await server.close();
      await store.close();
    }
  });
});
