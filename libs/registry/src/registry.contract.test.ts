import { ErrorCode, OnrampError } from "@onramp/errors";
import { createServer, connect, type Server, type Socket } from "node:net";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { etcdAvailable, etcdGateway, startEtcd, type EtcdServer } from "../../../e2e/harness/etcd-server.js";
import { until } from "../../../e2e/harness/within.js";
import { forkIpcChild, type IpcChild } from "../../../e2e/harness/ipc-child.js";
import { createChannelRegistry } from "./channel-registry.js";
import { createEtcdRegistry } from "./etcd-registry.js";
import { resolveEtcdRegistryOptions, type EtcdRegistryOptions, type RegistryLogger } from "./etcd-options.js";
import { PREFIX, bindingKey, edgeKey, policyHash } from "./keys.js";
import { createMemoryRegistry, MemoryRegistryStore } from "./memory-registry.js";
import type { BindingRecord, CloudEndpointRecord, EdgeRecord, StoredBinding } from "./records.js";
import type { BindingClaim, Registry, RegistryEvent } from "./registry.js";

/** Makes registry handles that share one store: each handle is one edge. */
interface Backend {
  open(options?: Partial<EtcdRegistryOptions>): Registry;
  /** Forgets everything stored, between tests. */
  clear(): Promise<void>;
}


/** Records a watch's events, checking the ordering promise as they come. */
function record(registry: Registry) {
  const events: RegistryEvent[] = [];
  const disorder: string[] = [];
  let last = 0;
  let resetAt = 0;
  const watch = registry.watch((event) => {
    if (event.kind === "reset") resetAt = event.snapshot.revision;
    else if (event.revision < last || event.revision <= resetAt) disorder.push(`${event.kind} ${event.key}@${event.revision} after ${last}`);
    last = event.kind === "reset" ? event.snapshot.revision : event.revision;
    events.push(event);
  });
  const find = (match: (e: RegistryEvent) => boolean) => events.find(match);
  return {
    events,
    watch,
    disorder,
    async next(what: string, match: (e: RegistryEvent) => boolean): Promise<RegistryEvent> {
      await until(what, () => find(match) !== undefined);
      return find(match)!;
    },
    /** The bindings the handler would hold now. */
    bindings(): Map<string, StoredBinding> {
      const view = new Map<string, StoredBinding>();
      for (const e of events) {
        if (e.kind === "reset") {
          view.clear();
          for (const b of e.snapshot.bindings) view.set(b.key, b);
        } else if (e.kind === "binding") {
          if (e.value) view.set(e.key, e.value);
          else view.delete(e.key);
        }
      }
      return view;
    },
  };
}

const edgeRecord = (id: string): EdgeRecord => ({
  id,
  region: "eu",
  advertise: `${id}.internal:4443`,
  http: `${id}.internal:80`,
  started_at: new Date().toISOString(),
  version: "test",
});

function bindingOf(o: { agent: string; edge: string; host?: string; pooling?: boolean; policy?: string; session?: string }): BindingRecord {
  const host = o.host ?? "app.example.com";
  const policy = o.policy ?? "";
  return {
    url: `https://${host}`,
    host,
    pooling: o.pooling ?? false,
    traffic_policy: policy,
    policy_hash: policyHash(policy),
    edge: o.edge,
    region: "eu",
    agent_id: o.agent,
    session_id: o.session ?? `session-${o.agent}`,
    bind_id: `bind-${o.agent}`,
    upstream: "http://localhost:3000",
    bound_at: new Date().toISOString(),
  };
}

const cloudEndpoint = (host: string): CloudEndpointRecord => ({
  url: `https://${host}`,
  host,
  traffic_policy: "on_http_request:\n  - actions:\n      - type: custom-response\n        config: { status_code: 200 }",
  source: "test.yml",
  updated_by: "edge-a",
  updated_at: new Date().toISOString(),
});

async function rejection(promise: Promise<unknown>): Promise<OnrampError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OnrampError);
  return err as OnrampError;
}

function registryContract(name: string, makeBackend: () => Backend): void {
  describe(`Registry contract: ${name}`, () => {
    const backend = makeBackend();
    const opened: Registry[] = [];
    const recorders: ReturnType<typeof record>[] = [];
    const open = () => {
      const registry = backend.open();
      opened.push(registry);
      return registry;
    };
    const edge = async (id: string) => {
      const registry = open();
      await registry.registerEdge(edgeRecord(id));
      return registry;
    };
    const watcher = async (registry: Registry) => {
      const recorder = record(registry);
      recorders.push(recorder);
      await recorder.watch.ready();
      return recorder;
    };

    beforeEach(() => backend.clear());
    afterEach(async () => {
      for (const r of recorders.splice(0)) {
        r.watch.close();
        expect(r.disorder).toEqual([]);
      }
      await Promise.all(opened.splice(0).map((r) => r.close()));
    });

    it("starts a watch with a reset, then shows a claim as a binding with the record's fields", async () => {
      const [a, b] = [await edge("edge-a"), await edge("edge-b")];
      const seen = await watcher(b);
      expect(seen.events[0]?.kind).toBe("reset");
      const binding = bindingOf({ agent: "agent-x", edge: "edge-a" });
      const claim = await a.claimBinding(binding);
      expect(claim.key).toBe(bindingKey(binding));
      expect(claim.binding).toEqual(binding);
      const event = await seen.next("the binding put", (e) => e.kind === "binding" && e.key === claim.key && e.value !== undefined);
      expect(event).toEqual({ kind: "binding", key: claim.key, revision: claim.revision, value: { key: claim.key, revision: claim.revision, binding } });
    });

    it("refuses a URL held without pooling to another agent on another edge", async () => {
      const [a, b] = [await edge("edge-a"), await edge("edge-b")];
      await a.claimBinding(bindingOf({ agent: "agent-x", edge: "edge-a" }));
      const err = await rejection(b.claimBinding(bindingOf({ agent: "agent-y", edge: "edge-b" })));
      expect(err.code).toBe(ErrorCode.BindConflict);
      expect(err.message).toMatch(/without pooling.*edge-a.*--pooling-enabled/);
      const pooled = await rejection(b.claimBinding(bindingOf({ agent: "agent-y", edge: "edge-b", pooling: true })));
      expect(pooled.code).toBe(ErrorCode.BindConflict);
    });

    it("lets one agent bind the same non-pooled URL on several edges", async () => {
      const [a, b] = [await edge("edge-a"), await edge("edge-b")];
      const onA = await a.claimBinding(bindingOf({ agent: "agent-x", edge: "edge-a" }));
      const onB = await b.claimBinding(bindingOf({ agent: "agent-x", edge: "edge-b" }));
      const keys = (await a.snapshot()).bindings.map((s) => s.key).sort();
      expect(keys).toEqual([onA.key, onB.key].sort());
    });

    it("joins pooled binds with the same policy, refuses another policy or a non-pooled bind", async () => {
      const [a, b] = [await edge("edge-a"), await edge("edge-b")];
      const policy = "on_http_request: []";
      await a.claimBinding(bindingOf({ agent: "agent-x", edge: "edge-a", pooling: true, policy }));
      await b.claimBinding(bindingOf({ agent: "agent-y", edge: "edge-b", pooling: true, policy }));
      const other = await rejection(b.claimBinding(bindingOf({ agent: "agent-z", edge: "edge-b", pooling: true, policy: "on_http_response: []" })));
      expect(other.code).toBe(ErrorCode.BindConflict);
      expect(other.message).toMatch(/different traffic policy/);
      const none = await rejection(b.claimBinding(bindingOf({ agent: "agent-z", edge: "edge-b", pooling: true })));
      expect(none.code).toBe(ErrorCode.BindConflict);
      const solo = await rejection(b.claimBinding(bindingOf({ agent: "agent-w", edge: "edge-b" })));
      expect(solo.code).toBe(ErrorCode.BindConflict);
      expect(solo.message).toMatch(/pooling enabled.*--pooling-enabled/);
      expect((await a.snapshot()).bindings).toHaveLength(2);
    });

    it("keeps cloud endpoints and bindings apart", async () => {
      const a = await edge("edge-a");
      const seen = await watcher(a);
      const stored = await a.putCloudEndpoint(cloudEndpoint("api.example.com"));
      expect(stored.endpoint.host).toBe("api.example.com");
      const onCloud = await rejection(a.claimBinding(bindingOf({ agent: "agent-x", edge: "edge-a", host: "api.example.com" })));
      expect(onCloud.code).toBe(ErrorCode.BindConflict);
      expect(onCloud.message).toMatch(/cloud endpoint/);

      await a.claimBinding(bindingOf({ agent: "agent-x", edge: "edge-a" }));
      const overBindings = await rejection(a.putCloudEndpoint(cloudEndpoint("app.example.com")));
      expect(overBindings.code).toBe(ErrorCode.BindConflict);
      expect(overBindings.message).toMatch(/agents hold it \(1 binding, e\.g\. on edge edge-a\)/);

      await a.deleteCloudEndpoint("api.example.com");
      await seen.next("the cloud endpoint delete", (e) => e.kind === "cloud-endpoint" && e.key === stored.key && e.value === undefined);
      await a.claimBinding(bindingOf({ agent: "agent-x", edge: "edge-a", host: "api.example.com" }));
    });

    it("lets exactly one of many concurrent non-pooled claims win", async () => {
      const [a, b] = [await edge("edge-a"), await edge("edge-b")];
      const claims = Array.from({ length: 20 }, (_, i) =>
        i % 2 === 0 ? a.claimBinding(bindingOf({ agent: `agent-${i}`, edge: "edge-a" })) : b.claimBinding(bindingOf({ agent: `agent-${i}`, edge: "edge-b" })),
      );
      const results = await Promise.allSettled(claims);
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      for (const r of results) if (r.status === "rejected") expect((r.reason as OnrampError).code).toBe(ErrorCode.BindConflict);
      expect((await a.snapshot()).bindings).toHaveLength(1);
    });

    it("replaces an agent's binding when it binds again; the old claim's release is then a no-op", async () => {
      const a = await edge("edge-a");
      const first = await a.claimBinding(bindingOf({ agent: "agent-x", edge: "edge-a", session: "s1" }));
      const second = await a.claimBinding(bindingOf({ agent: "agent-x", edge: "edge-a", session: "s2" }));
      expect(second.key).toBe(first.key);
      expect(second.revision).toBeGreaterThan(first.revision);
      expect(await a.releaseBinding(first)).toBeUndefined();
      expect((await a.snapshot()).bindings.map((b) => b.binding.session_id)).toEqual(["s2"]);
      expect(await a.releaseBinding(second)).toBeGreaterThan(second.revision);
      expect((await a.snapshot()).bindings).toEqual([]);
    });

    it("deletes a released binding, seen by watchers at the release's revision", async () => {
      const [a, b] = [await edge("edge-a"), await edge("edge-b")];
      const seen = await watcher(b);
      const claim = await a.claimBinding(bindingOf({ agent: "agent-x", edge: "edge-a" }));
      const revision = await a.releaseBinding(claim);
      expect(revision).toBeGreaterThan(claim.revision);
      const event = await seen.next("the binding delete", (e) => e.kind === "binding" && e.key === claim.key && e.value === undefined);
      expect(event.kind !== "reset" && event.revision).toBe(revision);
      expect(await a.releaseBinding(claim)).toBeUndefined();
    });

    it("takes an edge's bindings and record away when it closes", async () => {
      const [a, b] = [await edge("edge-a"), await edge("edge-b")];
      const seen = await watcher(b);
      const claims = [
        await a.claimBinding(bindingOf({ agent: "agent-x", edge: "edge-a" })),
        await a.claimBinding(bindingOf({ agent: "agent-y", edge: "edge-a", host: "other.example.com" })),
      ];
      await b.claimBinding(bindingOf({ agent: "agent-z", edge: "edge-b", host: "third.example.com" }));
      await a.close();
      await a.close();
      await seen.next("edge-a's record deleted", (e) => e.kind === "edge" && e.key === edgeKey("edge-a") && e.value === undefined);
      await until("edge-a's bindings deleted", () => claims.every((c) => !seen.bindings().has(c.key)));
      const snapshot = await b.snapshot();
      expect(snapshot.edges.map((e) => e.edge.id)).toEqual(["edge-b"]);
      expect(snapshot.bindings.map((s) => s.binding.agent_id)).toEqual(["agent-z"]);
    });

    it("deletes a previous incarnation's bindings when an edge registers again", async () => {
      const [before, b] = [await edge("edge-a"), await edge("edge-b")];
      const seen = await watcher(b);
      const stale = await before.claimBinding(bindingOf({ agent: "agent-x", edge: "edge-a" }));
      const kept = await b.claimBinding(bindingOf({ agent: "agent-y", edge: "edge-b", host: "other.example.com" }));
      await edge("edge-a");
      await seen.next("the stale binding deleted", (e) => e.kind === "binding" && e.key === stale.key && e.value === undefined);
      const snapshot = await b.snapshot();
      expect(snapshot.bindings.map((s) => s.key)).toEqual([kept.key]);
      expect(snapshot.edges.map((e) => e.edge.id).sort()).toEqual(["edge-a", "edge-b"]);
    });

    it("lists edges, bindings and cloud endpoints in a snapshot at one revision", async () => {
      const [a, b] = [await edge("edge-a"), await edge("edge-b")];
      const claim = await a.claimBinding(bindingOf({ agent: "agent-x", edge: "edge-a" }));
      const cloud = await b.putCloudEndpoint(cloudEndpoint("api.example.com"));
      const snapshot = await a.snapshot();
      expect(snapshot.revision).toBeGreaterThanOrEqual(cloud.revision);
      expect(snapshot.edges.map((e) => e.edge.id).sort()).toEqual(["edge-a", "edge-b"]);
      expect(snapshot.bindings).toEqual([{ key: claim.key, revision: claim.revision, binding: claim.binding }]);
      expect(snapshot.cloudEndpoints).toEqual([cloud]);
    });
  });
}

registryContract("memory", () => {
  let store = new MemoryRegistryStore();
  return {
    open: () => createMemoryRegistry(store),
    clear: async () => void (store = new MemoryRegistryStore()),
  };
});

// Every handle a worker process opens over its channel to the primary, where the store is: the
// primary here is a real forked process, the handles talk to it over Node IPC.
describe("channel registry", () => {
  let primary: IpcChild;
  beforeAll(async () => {
    primary = await forkIpcChild(new URL("./channel-registry.fixture.mjs", import.meta.url).pathname, ["host"]);
  }, 30_000);
  afterAll(() => primary?.kill());

  registryContract("channel to a forked primary", () => ({
    open: () => createChannelRegistry(primary.channel),
    clear: async () => void (await primary.command("clear")),
  }));
});

const etcdDescribe = etcdAvailable() ? describe : describe.skip;

etcdDescribe("etcd registry", () => {
  let etcd: EtcdServer;
  beforeAll(async () => {
    etcd = await startEtcd();
  }, 30_000);
  afterAll(() => etcd?.stop());

  const gw = () => etcdGateway(etcd.url);
  const gateway = (path: string, body: object) => gw().post(path, body);
  const getKey = (key: string) => gw().get(key);
  const clear = () => gw().deletePrefix(PREFIX);

  registryContract("etcd", () => ({
    open: (options) => createEtcdRegistry({ endpoints: [etcd.url], ...options }),
    clear,
  }));

  describe("etcd only", () => {
    const opened: Registry[] = [];
    const open = (options: Partial<EtcdRegistryOptions> = {}) => {
      const registry = createEtcdRegistry({ endpoints: [etcd.url], ...options });
      opened.push(registry);
      return registry;
    };
    const edge = async (id: string, options: Partial<EtcdRegistryOptions> = {}) => {
      const registry = open(options);
      await registry.registerEdge(edgeRecord(id));
      return registry;
    };
    beforeEach(() => clear());
    afterEach(async () => {
      etcd.resume();
      await Promise.all(opened.splice(0).map((r) => r.close()));
    });

    it("stores JSON an operator can read, under the edge's lease", async () => {
      const a = await edge("edge-a");
      const claim = await a.claimBinding(bindingOf({ agent: "agent-x", edge: "edge-a" }));
      const kv = (await getKey(claim.key))!;
      expect(JSON.parse(Buffer.from(kv.value, "base64").toString())).toMatchObject({ agent_id: "agent-x", edge: "edge-a", pooling: false });
      expect(kv.lease).toBe((await getKey(edgeKey("edge-a")))!.lease);
      expect(Number(kv.lease)).toBeGreaterThan(0);
    });

    it("refuses ids that could escape their key segment, and bad options naming the field", async () => {
      const a = await edge("edge-a");
      const err = await rejection(a.claimBinding(bindingOf({ agent: "agent/x", edge: "edge-a" })));
      expect(err.code).toBe(ErrorCode.InvalidArgument);
      expect(err.message).toMatch(/agent_id/);
      expect((await rejection(open().registerEdge(edgeRecord("a/b")))).code).toBe(ErrorCode.InvalidArgument);
      expect(() => resolveEtcdRegistryOptions({ endpoints: [] })).toThrow(/endpoints/);
      expect(() => resolveEtcdRegistryOptions({ endpoints: ["127.0.0.1:2379"] })).toThrow(/endpoints/);
      expect(() => resolveEtcdRegistryOptions({ endpoints: [etcd.url], leaseTtlMs: 1_500 })).toThrow(/leaseTtlMs/);
      expect(() => resolveEtcdRegistryOptions({ endpoints: [etcd.url], requestTimeoutMs: 0 })).toThrow(/requestTimeoutMs/);
    });

    it("fails a claim with REGISTRY_UNAVAILABLE while etcd is paused, and leaves nothing behind", async () => {
      const a = await edge("edge-a", { requestTimeoutMs: 1_000 });
      const b = await edge("edge-b");
      etcd.pause();
      const err = await rejection(a.claimBinding(bindingOf({ agent: "agent-x", edge: "edge-a" })));
      expect(err.code).toBe(ErrorCode.RegistryUnavailable);
      expect(err.message).toMatch(/did not answer within 1000 ms/);
      etcd.resume();
      // The timed-out transaction is applied once etcd runs again; edge-a must take it back out
      // (its lease is alive, so nothing else would) or the URL stays refused to everyone else.
      await until("edge-b's claim of the URL", () =>
        b.claimBinding(bindingOf({ agent: "agent-y", edge: "edge-b" })).then(
          () => true,
          () => false,
        ),
      );
    });

    it("closes within its timeout while etcd is paused", async () => {
      const a = await edge("edge-a", { requestTimeoutMs: 1_000 });
      etcd.pause();
      await a.close();
      etcd.resume();
    });

    it("keeps delivering events after etcd was paused and resumed", async () => {
      const log = capture();
      const a = open({ requestTimeoutMs: 500, watchProbeIntervalMs: 200, logger: log.logger });
      const b = await edge("edge-b");
      const seen = record(a);
      await seen.watch.ready();
      etcd.pause();
      await until("the watch to notice", () => log.lines.some((l) => /stopped answering|did not accept/.test(l)));
      etcd.resume();
      const claim = await b.claimBinding(bindingOf({ agent: "agent-y", edge: "edge-b" }));
      await seen.next("the claim after the pause", (e) => e.kind === "binding" && e.revision === claim.revision);
      seen.watch.close();
      expect(seen.disorder).toEqual([]);
      expect(seen.events.filter((e) => e.kind === "reset")).toHaveLength(1);
    });

    it("keeps delivering events after etcd restarted", async () => {
      const a = open({ requestTimeoutMs: 1_000, watchProbeIntervalMs: 500 });
      const seen = record(a);
      await seen.watch.ready();
      await etcd.kill();
      await etcd.restart();
      const b = await edge("edge-b");
      const claim = await b.claimBinding(bindingOf({ agent: "agent-y", edge: "edge-b" }));
      await seen.next("the claim after the restart", (e) => e.kind === "binding" && e.revision === claim.revision);
      seen.watch.close();
      expect(seen.disorder).toEqual([]);
    });

    it("lists again with a reset when the revision to resume from was compacted", async () => {
      const proxy = await startProxy(Number(new URL(etcd.url).port));
      try {
        const a = open({ endpoints: [proxy.url] });
        const seen = record(a);
        await seen.watch.ready();
        proxy.cut();
        const written = bindingOf({ agent: "agent-q", edge: "edge-q" });
        await gw().put(bindingKey(written), JSON.stringify(written));
        const { header } = await gw().put(`${PREFIX}edges/edge-q`, JSON.stringify(edgeRecord("edge-q")));
        await gateway("kv/compaction", { revision: header.revision, physical: true });
        proxy.heal();
        const reset = await seen.next("a second reset", (e) => e.kind === "reset" && e !== seen.events[0]);
        expect(reset.kind === "reset" && reset.snapshot.bindings.map((b) => b.binding)).toEqual([written]);
        expect(seen.events.filter((e) => e.kind !== "reset")).toEqual([]);
        seen.watch.close();
        expect(seen.disorder).toEqual([]);
      } finally {
        proxy.close();
      }
    });

    it("writes everything again under a new lease when the lease is lost, reporting bindings taken meanwhile", async () => {
      const a = await edge("edge-a", { leaseTtlMs: 2_000 });
      const lost: [BindingClaim, Error][] = [];
      a.onLostBinding = (claim, why) => lost.push([claim, why]);
      const kept = await a.claimBinding(bindingOf({ agent: "agent-x", edge: "edge-a", host: "kept.example.com" }));
      const taken = await a.claimBinding(bindingOf({ agent: "agent-y", edge: "edge-a", host: "taken.example.com" }));
      // Another agent's binding for the same host, written past the claim rule so it is there first.
      const intruder = bindingOf({ agent: "agent-z", edge: "edge-z", host: "taken.example.com" });
      await gw().put(bindingKey(intruder), JSON.stringify(intruder));
      const oldLease = (await getKey(edgeKey("edge-a")))!.lease!;
      await gateway("lease/revoke", { ID: oldLease });

      await until("onLostBinding", () => lost.length > 0);
      expect(lost.map(([claim]) => claim)).toEqual([taken]);
      expect((lost[0]![1] as OnrampError).code).toBe(ErrorCode.BindConflict);
      await until("the edge record under a new lease", async () => ((await getKey(edgeKey("edge-a")))?.lease ?? oldLease) !== oldLease);
      const rewritten = await a.snapshot();
      const binding = rewritten.bindings.find((s) => s.key === kept.key);
      expect(binding?.binding).toEqual(kept.binding);
      expect(binding!.revision).toBeGreaterThan(kept.revision);
      expect(await a.releaseBinding(taken)).toBeUndefined();
      expect(await a.releaseBinding(kept)).toBeGreaterThan(binding!.revision);
      expect((await a.snapshot()).bindings.map((s) => s.binding.agent_id)).toEqual(["agent-z"]);
    });
  });
});

function capture(): { lines: string[]; logger: RegistryLogger } {
  const lines: string[] = [];
  const log = (_: object, msg: string) => void lines.push(msg);
  return { lines, logger: { debug: log, info: log, warn: log, error: log } };
}

/** A TCP proxy to `port` that the test can cut (every connection reset, new ones refused) and heal. */
async function startProxy(port: number): Promise<{ url: string; cut(): void; heal(): void; close(): void }> {
  const sockets = new Set<Socket>();
  let refusing = false;
  const track = (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
  };
  const server: Server = createServer((client) => {
    track(client);
    if (refusing) return client.resetAndDestroy();
    const upstream = connect(port, "127.0.0.1");
    track(upstream);
    client.pipe(upstream).pipe(client);
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const cut = () => {
    refusing = true;
    for (const socket of sockets) socket.resetAndDestroy();
  };
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    cut,
    heal: () => void (refusing = false),
    close: () => {
      cut();
      server.close();
    },
  };
}
