import { ErrorCode, OnrampError } from "@onramp/errors";
import { afterEach, describe, expect, it } from "vitest";
import { forkIpcChild, type IpcChild } from "../../../e2e/harness/ipc-child.js";
import { until, within } from "../../../e2e/harness/within.js";
import { createChannelAccessSource } from "./channel-access-source.js";
import { hostRegistryOnChannel } from "./channel-registry-host.js";
import { createChannelRegistry } from "./channel-registry.js";
import type { AccessEvent } from "./control-store.js";
import { bindingKey, edgeKey, policyHash } from "./keys.js";
import { createMemoryRegistry, MemoryRegistryStore } from "./memory-registry.js";
import type { BindingRecord, EdgeRecord } from "./records.js";
import type { Registry } from "./registry.js";

const FIXTURE = new URL("./channel-registry.fixture.mjs", import.meta.url).pathname;

const edgeRecord = (id: string): EdgeRecord => ({
  id,
  region: "eu",
  advertise: `${id}.internal:4443`,
  http: `${id}.internal:80`,
  started_at: new Date().toISOString(),
  version: "test",
});

const bindingOf = (agent: string, edge: string, host: string): BindingRecord => ({
  url: `https://${host}`,
  host,
  pooling: false,
  traffic_policy: "",
  policy_hash: policyHash(""),
  edge,
  region: "eu",
  agent_id: agent,
  session_id: `session-${agent}`,
  bind_id: `bind-${agent}`,
  upstream: "http://localhost:3000",
  bound_at: new Date().toISOString(),
});

async function rejection(promise: Promise<unknown>): Promise<OnrampError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(OnrampError);
  return err as OnrampError;
}

describe("channel registry", () => {
  const children: IpcChild[] = [];
  const opened: { close(): Promise<void> }[] = [];
  const fork = async (role: "host" | "worker") => {
    const child = await forkIpcChild(FIXTURE, [role]);
    children.push(child);
    return child;
  };
  const keep = <T extends { close(): Promise<void> }>(closable: T): T => {
    opened.push(closable);
    return closable;
  };
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((c) => c.close()));
    await Promise.all(children.splice(0).map((c) => c.kill()));
  });

  it("releases a dead worker's bindings and edge record in the primary's store; another worker's stay", async () => {
    const store = new MemoryRegistryStore();
    const [a, b] = [await fork("worker"), await fork("worker")];
    keep(hostRegistryOnChannel(store, a.channel));
    keep(hostRegistryOnChannel(store, b.channel));
    const call = (worker: IpcChild, method: string, ...args: unknown[]) => worker.command("call", { method, args });
    await call(a, "registerEdge", edgeRecord("edge-a"));
    await call(b, "registerEdge", edgeRecord("edge-b"));
    const onA = bindingOf("agent-x", "edge-a", "a.example.com");
    const onB = bindingOf("agent-y", "edge-b", "b.example.com");
    await call(a, "claimBinding", onA);
    await call(b, "claimBinding", onB);
    // The workers see each other's claims: b's URL is refused to another agent on a.
    await expect(call(a, "claimBinding", bindingOf("agent-z", "edge-a", "b.example.com"))).rejects.toMatchObject({ code: ErrorCode.BindConflict });
    expect([...store.bindings.keys()].sort()).toEqual([bindingKey(onA), bindingKey(onB)]);

    const seen = createMemoryRegistry(store);
    const deleted: string[] = [];
    seen.watch((e) => void (e.kind !== "reset" && e.value === undefined && deleted.push(e.key)));
    await a.kill();
    await until("edge-a's record and binding gone", () => !store.edges.has(edgeKey("edge-a")) && !store.bindings.has(bindingKey(onA)));
    expect(deleted.sort()).toEqual([bindingKey(onA), edgeKey("edge-a")].sort());
    expect([...store.bindings.keys()]).toEqual([bindingKey(onB)]);
    expect([...store.edges.keys()]).toEqual([edgeKey("edge-b")]);
  });

  it("keeps an OnrampError's code and message across the channel", async () => {
    const primary = await fork("host");
    const [a, b] = [keep(createChannelRegistry(primary.channel)), keep(createChannelRegistry(primary.channel))];
    await a.registerEdge(edgeRecord("edge-a"));
    await b.registerEdge(edgeRecord("edge-b"));
    await a.claimBinding(bindingOf("agent-x", "edge-a", "app.example.com"));
    const err = await rejection(b.claimBinding(bindingOf("agent-y", "edge-b", "app.example.com")));

    // The same refusal, decided in this process by the memory registry itself.
    const local = new MemoryRegistryStore();
    await createMemoryRegistry(local).claimBinding(bindingOf("agent-x", "edge-a", "app.example.com"));
    const expected = await rejection(createMemoryRegistry(local).claimBinding(bindingOf("agent-y", "edge-b", "app.example.com")));
    expect(err.code).toBe(ErrorCode.BindConflict);
    expect(err.message).toBe(expected.message);
  });

  it("fails calls with REGISTRY_UNAVAILABLE once the primary is gone; release and close still resolve", async () => {
    const primary = await fork("host");
    const registry = keep(createChannelRegistry(primary.channel));
    await registry.registerEdge(edgeRecord("edge-a"));
    const claim = await registry.claimBinding(bindingOf("agent-x", "edge-a", "app.example.com"));
    await primary.kill();
    const err = await rejection(registry.claimBinding(bindingOf("agent-y", "edge-a", "other.example.com")));
    expect(err.code).toBe(ErrorCode.RegistryUnavailable);
    expect(err.message).toMatch(/channel to the primary process closed/);
    expect((await rejection(registry.snapshot())).code).toBe(ErrorCode.RegistryUnavailable);
    expect((await rejection(registry.watch(() => undefined).ready())).code).toBe(ErrorCode.RegistryUnavailable);
    expect(await registry.releaseBinding(claim)).toBeUndefined();
    await registry.close();
    expect((await rejection(registry.snapshot())).code).toBe(ErrorCode.RegistryUnavailable);
  });

  it("times a call out with REGISTRY_UNAVAILABLE while the primary is stuck, and takes back a claim that went through late", async () => {
    const primary = await fork("host");
    const registry = keep(createChannelRegistry(primary.channel, { requestTimeoutMs: 300 }));
    await registry.registerEdge(edgeRecord("edge-a"));
    const stalled = primary.command("stall", { ms: 1_500 });
    const err = await rejection(registry.claimBinding(bindingOf("agent-x", "edge-a", "app.example.com")));
    expect(err.code).toBe(ErrorCode.RegistryUnavailable);
    expect(err.message).toMatch(/did not answer claimBinding within 300 ms/);
    await stalled;
    await until("the late claim released", async () => ((await primary.command("bindings")) as string[]).length === 0);
    // The URL is free for the next claim.
    await registry.claimBinding(bindingOf("agent-y", "edge-a", "app.example.com"));
  });

  it("tells its workers when the primary closes the host, and revokes what they wrote", async () => {
    const primary = await fork("host");
    const registry = keep(createChannelRegistry(primary.channel));
    await registry.registerEdge(edgeRecord("edge-a"));
    await registry.claimBinding(bindingOf("agent-x", "edge-a", "app.example.com"));
    await primary.command("closeHost");
    expect(await primary.command("bindings")).toEqual([]);
    expect(await primary.command("edges")).toEqual([]);
    const err = await rejection(registry.snapshot());
    expect(err.code).toBe(ErrorCode.RegistryUnavailable);
    expect(err.message).toMatch(/primary process closed it/);
  });

  it("closes only its own handle: another handle on the same channel keeps its bindings", async () => {
    const primary = await fork("host");
    const [a, b]: [Registry, Registry] = [keep(createChannelRegistry(primary.channel)), keep(createChannelRegistry(primary.channel))];
    await a.registerEdge(edgeRecord("edge-a"));
    await b.registerEdge(edgeRecord("edge-b"));
    await a.claimBinding(bindingOf("agent-x", "edge-a", "a.example.com"));
    const kept = await b.claimBinding(bindingOf("agent-y", "edge-b", "b.example.com"));
    await a.close();
    expect(await primary.command("bindings")).toEqual([kept.key]);
    expect((await b.snapshot()).edges.map((e) => e.edge.id)).toEqual(["edge-b"]);
  });

  it("brings authtokens created and revoked in the primary to a worker's access watch", async () => {
    const primary = await fork("host");
    const source = keep(createChannelAccessSource(primary.channel));
    const events: AccessEvent[] = [];
    const watch = source.watchAccess((e) => void events.push(e));
    await within(5_000, "the access listing", watch.ready());
    expect(events.map((e) => e.kind)).toEqual(["reset"]);
    const created = (await primary.command("createAuthtoken", { acl: ["bind:*.example.com"] })) as { id: string };
    await until("the authtoken event", () => events.some((e) => e.kind === "authtoken" && e.value?.authtoken.id === created.id));
    await primary.command("revokeAuthtoken", { id: created.id });
    await until("the revocation event", () => events.some((e) => e.kind === "authtoken" && e.value === undefined));
    watch.close();
    const before = events.length;
    await primary.command("createAuthtoken", { acl: [] });
    // A round trip through the primary after the watch closed: its events would have come first.
    await new Promise<void>((resolve) => source.watchAccess(() => resolve()));
    expect(events.length).toBe(before);
  });

  it("rejects a bad requestTimeoutMs naming the field", () => {
    const channel = { send: () => undefined, onMessage: () => () => undefined, onClose: () => () => undefined };
    expect(() => createChannelRegistry(channel, { requestTimeoutMs: 0 })).toThrow(/requestTimeoutMs must be a whole number/);
    expect(() => createChannelAccessSource(channel, { requestTimeoutMs: 1.5 })).toThrow(expect.objectContaining({ code: ErrorCode.InvalidArgument }));
  });
});
