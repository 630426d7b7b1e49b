import { ErrorCode, OnrampError } from "@onramp/errors";
import { createHash } from "node:crypto";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { etcdAvailable, etcdGateway, startEtcd, type EtcdServer } from "../../../e2e/harness/etcd-server.js";
import { until } from "../../../e2e/harness/within.js";
import { AccessIndex } from "./access-index.js";
import type { AccessEvent, ControlStore } from "./control-store.js";
import { createEtcdControlStore } from "./etcd-control-store.js";
import { createEtcdRegistry } from "./etcd-registry.js";
import { PREFIX, authtokenKey } from "./keys.js";
import { createMemoryControlStore } from "./memory-control-store.js";
import { createMemoryRegistry, MemoryRegistryStore } from "./memory-registry.js";
import type { BindingRecord, CloudEndpointRecord } from "./records.js";
import type { Registry } from "./registry.js";

/** Control stores and edge registries over one shared store, as the API service and the edges see it. */
interface Backend {
  open(): ControlStore;
  /** An edge's registry over the same store: for bindings and edges to show up. */
  edge(): Registry;
  /** Everything stored, as text: where a secret must never appear. */
  dump(): Promise<string>;
  clear(): Promise<void>;
}


async function rejection(promise: Promise<unknown>): Promise<OnrampError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OnrampError);
  return err as OnrampError;
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

const cloudEndpoint = (host: string): CloudEndpointRecord => ({
  url: `https://${host}`,
  host,
  traffic_policy: "on_http_request:\n  - actions:\n      - type: custom-response\n        config: { status_code: 200 }",
  source: "api",
  updated_by: "key_test",
  updated_at: new Date().toISOString(),
});

const bindingOf = (agent: string, edge: string, host: string): BindingRecord => ({
  url: `https://${host}`,
  host,
  pooling: false,
  traffic_policy: "",
  policy_hash: "",
  edge,
  region: "eu",
  agent_id: agent,
  session_id: `session-${agent}`,
  bind_id: `bind-${agent}`,
  upstream: "http://localhost:3000",
  bound_at: new Date().toISOString(),
});

function controlStoreContract(name: string, makeBackend: () => Backend): void {
  describe(`ControlStore contract: ${name}`, () => {
    const backend = makeBackend();
    const opened: ControlStore[] = [];
    const edges: Registry[] = [];
    const watches: { close(): void }[] = [];
    const open = () => {
      const store = backend.open();
      opened.push(store);
      return store;
    };
    const edge = async (id: string) => {
      const registry = backend.edge();
      edges.push(registry);
      await registry.registerEdge({ id, region: "eu", advertise: `${id}:4443`, http: `${id}:80`, started_at: new Date().toISOString(), version: "test" });
      return registry;
    };
    /** An edge's view: the index it keeps, and every event in order. */
    const follow = async (store: ControlStore) => {
      const index = new AccessIndex();
      const events: AccessEvent[] = [];
      const watch = store.watchAccess((event) => {
        events.push(event);
        index.apply(event);
      });
      watches.push(watch);
      await watch.ready();
      return { index, events };
    };

    beforeEach(() => backend.clear());
    afterEach(async () => {
      for (const watch of watches.splice(0)) watch.close();
      await Promise.all([...opened.splice(0).map((s) => s.close()), ...edges.splice(0).map((r) => r.close())]);
    });

    it("creates an authtoken whose secret is returned once and stored only as its hash", async () => {
      const store = open();
      const { record, token } = await store.createAuthtoken({ description: "ci runners", acl: ["  bind:*.example.com ", "bind:foo.internal"], created_by: "key_admin" });
      expect(token).toMatch(/^onr_[A-Za-z0-9_-]{43}$/);
      expect(record).toEqual({
        id: expect.stringMatching(/^tok_[a-z2-7]{20}$/),
        description: "ci runners",
        acl: ["bind:*.example.com", "bind:foo.internal"],
        token_hash: sha256(token),
        token_prefix: token.slice(0, 12),
        created_at: expect.any(String),
        created_by: "key_admin",
      });
      expect(await store.getAuthtoken(record.id)).toEqual(record);
      expect((await store.listAuthtokens()).items).toEqual([record]);
      const stored = await backend.dump();
      expect(stored).toContain(record.token_hash);
      expect(stored).not.toContain(token);
      expect(stored).not.toContain(token.slice(12));
    });

    it("updates what is given and keeps the rest; a revoked token is gone", async () => {
      const store = open();
      const { record } = await store.createAuthtoken({ description: "old", acl: ["bind:a.example.com"] });
      const described = await store.updateAuthtoken(record.id, { description: "new" });
      expect(described).toEqual({ ...record, description: "new" });
      const narrowed = await store.updateAuthtoken(record.id, { acl: [] });
      expect(narrowed).toEqual({ ...record, description: "new", acl: [] });
      expect(await store.getAuthtoken(record.id)).toEqual(narrowed);

      await store.revokeAuthtoken(record.id);
      for (const gone of [() => store.getAuthtoken(record.id), () => store.revokeAuthtoken(record.id), () => store.updateAuthtoken(record.id, { description: "x" })]) {
        const err = await rejection(gone());
        expect(err.code).toBe(ErrorCode.NotFound);
        expect(err.httpStatus).toBe(404);
        expect(err.message).toBe(`authtoken ${record.id} does not exist`);
      }
      expect((await store.listAuthtokens()).items).toEqual([]);
    });

    it("pages through a list in key order with a cursor, and refuses bad limits and cursors", async () => {
      const store = open();
      const ids = (await Promise.all(Array.from({ length: 7 }, (_, i) => store.createAuthtoken({ description: `t${i}` })))).map((c) => c.record.id).sort();
      const seen: string[] = [];
      const sizes: number[] = [];
      let cursor: string | undefined;
      do {
        const page = await store.listAuthtokens({ limit: 3, ...(cursor ? { cursor } : {}) });
        seen.push(...page.items.map((t) => t.id));
        sizes.push(page.items.length);
        cursor = page.next_cursor;
      } while (cursor);
      expect(sizes).toEqual([3, 3, 1]);
      expect(seen).toEqual(ids);
      expect((await store.listAuthtokens({ limit: 7 })).next_cursor).toBeUndefined();

      // A page continues after its cursor's key even when that key was deleted meanwhile.
      const first = await store.listAuthtokens({ limit: 2 });
      await store.revokeAuthtoken(first.items[1]!.id);
      expect((await store.listAuthtokens({ limit: 2, cursor: first.next_cursor! })).items.map((t) => t.id)).toEqual(ids.slice(2, 4));

      for (const limit of [0, 1_001, 2.5]) expect((await rejection(store.listAuthtokens({ limit }))).message).toMatch(/^limit must be a whole number from 1 to 1000/);
      await store.reserveDomain({ name: "a.example.com" });
      await store.reserveDomain({ name: "b.example.com" });
      const domains = await store.listDomains({ limit: 1 });
      expect(domains.next_cursor).toBeDefined();
      for (const cursor of [domains.next_cursor!, "not-a-cursor!", "Zm9v"]) {
        const err = await rejection(store.listAuthtokens({ cursor }));
        expect(err.code).toBe(ErrorCode.InvalidArgument);
        expect(err.message).toBe("cursor is not a cursor this list returned");
      }
    });

    it("reserves a domain once, normalised; a second reservation conflicts until it is released", async () => {
      const store = open();
      const reserved = await store.reserveDomain({ name: " App.Example.COM. ", description: "marketing" });
      expect(reserved).toEqual({ name: "app.example.com", description: "marketing", created_at: expect.any(String) });
      const again = await rejection(store.reserveDomain({ name: "app.example.com" }));
      expect(again.code).toBe(ErrorCode.AlreadyExists);
      expect(again.httpStatus).toBe(409);
      expect(again.message).toMatch(/^app\.example\.com is already reserved/);
      const wildcard = await store.reserveDomain({ name: "*.example.com" });
      expect(await store.getDomain("APP.example.com")).toEqual(reserved);
      expect((await store.listDomains()).items).toEqual([wildcard, reserved]);

      await store.releaseDomain("app.example.com");
      expect((await rejection(store.getDomain("app.example.com"))).code).toBe(ErrorCode.NotFound);
      expect((await rejection(store.releaseDomain("app.example.com"))).message).toBe("reserved domain app.example.com does not exist");
      expect((await store.reserveDomain({ name: "app.example.com" })).name).toBe("app.example.com");

      for (const name of ["", "a/b.example.com", "-x.example.com", "*.com", "app.*.example.com", "x".repeat(64) + ".example.com"]) {
        const err = await rejection(store.reserveDomain({ name }));
        expect(err.code).toBe(ErrorCode.InvalidArgument);
        expect(err.message).toMatch(/^name /);
      }
    });

    it("verifies API keys by their secret, stored only as a hash", async () => {
      const store = open();
      const { record, key } = await store.createApiKey({ description: "deploy bot" });
      expect(key).toMatch(/^onrapi_[A-Za-z0-9_-]{43}$/);
      expect(record).toEqual({ id: expect.stringMatching(/^key_[a-z2-7]{20}$/), description: "deploy bot", key_hash: sha256(key), created_at: expect.any(String) });
      expect(await store.verifyApiKey(key)).toEqual(record);
      expect(await store.verifyApiKey(`${key}x`)).toBeUndefined();
      expect(await store.verifyApiKey("")).toBeUndefined();
      expect((await store.listApiKeys()).items).toEqual([record]);
      expect(await backend.dump()).not.toContain(key);

      await store.revokeApiKey(record.id);
      expect(await store.verifyApiKey(key)).toBeUndefined();
      expect((await rejection(store.revokeApiKey(record.id))).code).toBe(ErrorCode.NotFound);
    });

    it("stores a bootstrap API key once, however often and by however many stores it is ensured", async () => {
      const [a, b] = [open(), open()];
      const secret = "bootstrap-secret-0123456789";
      const [first, second] = await Promise.all([a.ensureBootstrapApiKey(secret), b.ensureBootstrapApiKey(secret)]);
      expect(second).toEqual(first);
      expect(await a.ensureBootstrapApiKey(secret)).toEqual(first);
      expect(first.key_hash).toBe(sha256(secret));
      expect((await a.listApiKeys()).items).toEqual([first]);
      expect(await b.verifyApiKey(secret)).toEqual(first);

      const created = await a.createApiKey({});
      expect(await a.ensureBootstrapApiKey(created.key)).toEqual(created.record);
      expect((await a.listApiKeys()).items).toHaveLength(2);
      expect((await a.ensureBootstrapApiKey("k3y")).key_hash).toBe(sha256("k3y")); // short, but the operator's choice
      const blank = await rejection(a.ensureBootstrapApiKey(" padded "));
      expect(blank.code).toBe(ErrorCode.InvalidArgument);
      expect(blank.message).toMatch(/^api key must be a non-empty string without surrounding spaces/);
    });

    it("delivers token and domain changes to a watching edge, and a reset with what existed before", async () => {
      const api = open();
      const before = await api.createAuthtoken({ description: "before" });
      await api.reserveDomain({ name: "before.example.com" });
      const edgeView = await follow(open());
      expect(edgeView.events[0]).toMatchObject({ kind: "reset" });
      expect(edgeView.index.authtokenFor(before.token)).toEqual(before.record);
      expect(edgeView.index.reservedNames()).toEqual(["before.example.com"]);

      const created = await api.createAuthtoken({ acl: ["bind:*.example.com"] });
      await until("the new token at the edge", () => edgeView.index.authtokenFor(created.token) !== undefined);
      expect(edgeView.index.authtokenFor(created.token)).toEqual(created.record);
      const event = edgeView.events.find((e) => e.kind === "authtoken" && e.value?.authtoken.id === created.record.id);
      expect(event).toMatchObject({ kind: "authtoken", key: authtokenKey(created.record.id), value: { key: authtokenKey(created.record.id), authtoken: created.record } });

      await api.updateAuthtoken(created.record.id, { acl: [] });
      await until("the narrowed ACL at the edge", () => edgeView.index.authtokenFor(created.token)?.acl.length === 0);
      await api.revokeAuthtoken(created.record.id);
      await until("the revocation at the edge", () => edgeView.index.authtokenFor(created.token) === undefined);
      expect(edgeView.index.authtokenFor(before.token)).toBeDefined();

      await api.reserveDomain({ name: "*.example.com" });
      await until("the reservation at the edge", () => edgeView.index.reservation("*.example.com") !== undefined);
      await api.releaseDomain("before.example.com");
      await until("the release at the edge", () => edgeView.index.reservedNames().join() === "*.example.com");

      const revisions = edgeView.events.map((e) => (e.kind === "reset" ? e.snapshot.revision : e.revision));
      expect(revisions).toEqual([...revisions].sort((x, y) => x - y));
      expect(new Set(revisions).size).toBe(revisions.length);
      expect(edgeView.events.filter((e) => e.kind === "reset")).toHaveLength(1);
    });

    it("defines, lists and deletes cloud endpoints by the same rules as the edge's registry", async () => {
      const store = open();
      const stored = await store.putCloudEndpoint(cloudEndpoint("API.example.com"));
      expect(stored.endpoint.host).toBe("api.example.com");
      expect(await store.getCloudEndpoint("api.example.com")).toEqual(stored.endpoint);
      await store.putCloudEndpoint(cloudEndpoint("b.example.com"));
      const page = await store.listCloudEndpoints({ limit: 1 });
      expect(page.items.map((e) => e.host)).toEqual(["api.example.com"]);
      expect((await store.listCloudEndpoints({ cursor: page.next_cursor! })).items.map((e) => e.host)).toEqual(["b.example.com"]);

      const a = await edge("edge-a");
      await a.claimBinding(bindingOf("agent-x", "edge-a", "app.example.com"));
      const conflict = await rejection(store.putCloudEndpoint(cloudEndpoint("app.example.com")));
      expect(conflict.code).toBe(ErrorCode.BindConflict);
      expect(conflict.message).toMatch(/agents hold it \(1 binding, e\.g\. on edge edge-a\)/);

      await store.deleteCloudEndpoint("api.example.com");
      expect((await rejection(store.getCloudEndpoint("api.example.com"))).code).toBe(ErrorCode.NotFound);
      expect((await rejection(store.deleteCloudEndpoint("api.example.com"))).message).toBe("cloud endpoint api.example.com does not exist");
      expect((await rejection(store.getCloudEndpoint("a/b"))).message).toMatch(/^host /);
    });

    it("lists the live edges, their bindings with the revision of their write, and their sessions", async () => {
      const store = open();
      const [a, b] = [await edge("edge-a"), await edge("edge-b")];
      const claim = await a.claimBinding(bindingOf("agent-x", "edge-a", "app.example.com"));
      expect((await store.listEdges()).map((e) => e.id)).toEqual(["edge-a", "edge-b"]);
      expect(await store.listBindings()).toEqual([{ key: claim.key, revision: claim.revision, binding: claim.binding }]);
      // A second claim of the same key is a new write: the status of the first is not about it.
      const again = await a.claimBinding({ ...bindingOf("agent-x", "edge-a", "app.example.com"), session_id: "session-again" });
      expect(again.revision).toBeGreaterThan(claim.revision);
      expect((await store.listBindings()).map((s) => [s.key, s.revision])).toEqual([[claim.key, again.revision]]);

      const session = (edgeId: string, id: string) => ({ id, edge: edgeId, agent_id: `agent-${id}`, remote: "127.0.0.1:5000", started_at: "2026-01-01T00:00:00.000Z" });
      await b.putSession(session("edge-b", "s-3"));
      await a.putSession(session("edge-a", "s-2"));
      await a.putSession(session("edge-a", "s-1"));
      expect(await store.listSessions()).toEqual([session("edge-a", "s-1"), session("edge-a", "s-2"), session("edge-b", "s-3")]);
      await a.deleteSession("edge-a", "s-2");
      expect((await store.listSessions()).map((s) => s.id)).toEqual(["s-1", "s-3"]);

      await a.close();
      expect((await store.listEdges()).map((e) => e.id)).toEqual(["edge-b"]);
      expect(await store.listBindings()).toEqual([]);
      expect(await store.listSessions()).toEqual([session("edge-b", "s-3")]);
    });

    it("refuses bad input naming the field, before reading anything", async () => {
      const store = open();
      const cases: [() => Promise<unknown>, RegExp][] = [
        [() => store.createAuthtoken({ description: "x".repeat(256) }), /^description is 256 characters long; at most 255/],
        [() => store.createAuthtoken({ acl: "bind:*" as unknown as string[] }), /^acl must be a list of rules/],
        [() => store.createAuthtoken({ acl: Array.from({ length: 101 }, (_, i) => `bind:h${i}.example.com`) }), /^acl has 101 rules; at most 100/],
        [() => store.createAuthtoken({ acl: ["bind:a.example.com", "  "] }), /^acl\[1\] is empty/],
        [() => store.createAuthtoken({ acl: [`bind:${"a".repeat(250)}`] }), /^acl\[0\] is 255 characters long; at most 253/],
        [() => store.updateAuthtoken("tok_doesnotexist00000000", { description: "x".repeat(300) }), /^description /],
        [() => store.getAuthtoken("tok_../../edges/x"), /^authtoken id "tok_\.\.\/\.\.\/edges\/x" is not an id/],
        [() => store.revokeApiKey("tok_abc"), /^API key id "tok_abc" is not an id/],
        [() => store.reserveDomain({ name: "app.example.com", description: "d".repeat(256) }), /^description /],
      ];
      for (const [call, message] of cases) {
        const err = await rejection(call());
        expect(err.code).toBe(ErrorCode.InvalidArgument);
        expect(err.message).toMatch(message);
      }
      expect((await store.listAuthtokens()).items).toEqual([]);
      expect((await store.listDomains()).items).toEqual([]);
    });
  });
}

controlStoreContract("memory", () => {
  let store = new MemoryRegistryStore();
  return {
    open: () => createMemoryControlStore(store),
    edge: () => createMemoryRegistry(store),
    dump: async () => JSON.stringify([...store.authtokens.values(), ...store.domains.values(), ...store.apiKeys.values()]),
    clear: async () => void (store = new MemoryRegistryStore()),
  };
});

const etcdDescribe = etcdAvailable() ? describe : describe.skip;

etcdDescribe("etcd control store", () => {
  let etcd: EtcdServer;
  beforeAll(async () => {
    etcd = await startEtcd();
  }, 30_000);
  afterAll(() => etcd?.stop());

  const gw = () => etcdGateway(etcd.url);
  const everything = () => gw().range(PREFIX);

  controlStoreContract("etcd", () => ({
    open: () => createEtcdControlStore({ endpoints: [etcd.url] }),
    edge: () => createEtcdRegistry({ endpoints: [etcd.url] }),
    dump: async () => (await everything()).map((kv) => Buffer.from(kv.value, "base64").toString()).join("\n"),
    clear: () => gw().deletePrefix(PREFIX),
  }));

  describe("etcd only", () => {
    it("stores records as JSON an operator can read, under the documented keys, with no lease", async () => {
      const store = createEtcdControlStore({ endpoints: [etcd.url] });
      try {
        const { record } = await store.createAuthtoken({ description: "ops" });
        await store.reserveDomain({ name: "*.example.com" });
        const { record: apiKey } = await store.createApiKey({});
        const kvs = new Map((await everything()).map((kv) => [Buffer.from(kv.key, "base64").toString(), kv]));
        const token = kvs.get(`/onramp/v1/access/authtokens/${record.id}`)!;
        expect(JSON.parse(Buffer.from(token.value, "base64").toString())).toEqual(record);
        expect(token.lease ?? "0").toBe("0");
        expect(kvs.has("/onramp/v1/access/domains/*.example.com")).toBe(true);
        expect(kvs.has(`/onramp/v1/api-keys/${apiKey.id}`)).toBe(true);
      } finally {
        await store.close();
      }
    });

    it("keeps an edge's index current across an etcd restart", async () => {
      const edgeStore = createEtcdControlStore({ endpoints: [etcd.url], requestTimeoutMs: 1_000, watchProbeIntervalMs: 500 });
      const api = createEtcdControlStore({ endpoints: [etcd.url] });
      const index = new AccessIndex();
      const watch = edgeStore.watchAccess((event) => index.apply(event));
      try {
        await watch.ready();
        const before = await api.createAuthtoken({});
        await until("the token before the restart", () => index.authtokenFor(before.token) !== undefined);
        await etcd.kill();
        await etcd.restart();
        const after = await api.createAuthtoken({});
        await api.revokeAuthtoken(before.record.id);
        await until("the token after the restart", () => index.authtokenFor(after.token) !== undefined);
        await until("the revocation after the restart", () => index.authtokenFor(before.token) === undefined);
      } finally {
        watch.close();
        await Promise.all([edgeStore.close(), api.close()]);
      }
    });
  });
});
