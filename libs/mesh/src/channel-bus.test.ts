import { OnrampError } from "@onramp/errors";
import { afterEach, describe, expect, it } from "vitest";
import { forkIpcChild, type IpcChild } from "../../../e2e/harness/ipc-child.js";
import { until, within } from "../../../e2e/harness/within.js";
import type { BusMessage, BusStatus } from "./bus.js";
import { hostBusOnChannel } from "./channel-bus-host.js";
import { createChannelBus } from "./channel-bus.js";
import { createInProcessBus, InProcessBusHub } from "./in-process-bus.js";

const FIXTURE = new URL("./channel-bus.fixture.mjs", import.meta.url).pathname;
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

describe("channel bus", () => {
  const children: IpcChild[] = [];
  const closers: (() => Promise<void>)[] = [];
  afterEach(async () => {
    await Promise.all(closers.splice(0).map((close) => close()));
    await Promise.all(children.splice(0).map((c) => c.kill()));
  });
  const fork = async (role: "host" | "worker") => {
    const child = await forkIpcChild(FIXTURE, [role]);
    children.push(child);
    return child;
  };

  /** This process as the primary: one in-process bus, and a host for each forked worker. */
  const primaryWithWorkers = async (n: number) => {
    const hub = new InProcessBusHub();
    const bus = createInProcessBus(hub);
    closers.push(() => bus.close());
    const workers: IpcChild[] = [];
    for (let i = 0; i < n; i++) {
      const worker = await fork("worker");
      const host = hostBusOnChannel(bus, worker.channel);
      closers.push(() => host.close());
      workers.push(worker);
    }
    return { hub, bus, workers };
  };

  it("answers a request from one worker in another", async () => {
    const { workers } = await primaryWithWorkers(2);
    const [a, b] = workers as [IpcChild, IpcChild];
    await b.command("subscribe", { subject: "snap.edge-b", echo: true });
    expect(await a.command("request", { subject: "snap.edge-b", text: "ping", timeoutMs: 2_000 })).toBe("re: ping");
    await expect(a.command("request", { subject: "snap.nobody", text: "?", timeoutMs: 2_000 })).rejects.toThrow(/no responders on snap.nobody/);
  });

  it("delivers a worker's publish to the other worker and to the primary's own subscribers, by wildcard", async () => {
    const { bus, workers } = await primaryWithWorkers(2);
    const [a, b] = workers as [IpcChild, IpcChild];
    const inPrimary: string[] = [];
    bus.subscribe("pool.>", (m) => void inPrimary.push(`${m.subject}=${dec(m.data)}`));
    await b.command("subscribe", { subject: "pool.*.delta" });
    await a.command("publish", { subject: "pool.app.delta", text: "one" });
    await a.command("publish", { subject: "pool.app.other", text: "two" });
    await until("the delta in b", async () => ((await b.command("received", { subject: "pool.*.delta" })) as string[]).length === 1);
    await until("both in the primary", () => inPrimary.length === 2);
    expect(inPrimary).toEqual(["pool.app.delta=one", "pool.app.other=two"]);
    // Published after, on the same path: were `pool.app.other` on its way to b, it would be there now.
    await a.command("publish", { subject: "pool.end.delta", text: "end" });
    await until("the end in b", async () => ((await b.command("received", { subject: "pool.*.delta" })) as string[]).length === 2);
    expect(await b.command("received", { subject: "pool.*.delta" })).toEqual(["pool.app.delta=one", "pool.end.delta=end"]);
  });

  it("removes a worker's subscriptions at the primary when it unsubscribes, and when it dies", async () => {
    const { hub, workers } = await primaryWithWorkers(2);
    const [a, b] = workers as [IpcChild, IpcChild];
    await a.command("subscribe", { subject: "x.one" });
    await a.command("subscribe", { subject: "x.two" });
    await b.command("subscribe", { subject: "x.three" });
    await until("three subscriptions in the primary", () => hub.subscriptions.size === 3);
    await a.command("unsubscribe", { subject: "x.one" });
    await until("a's unsubscribe in the primary", () => hub.subscriptions.size === 2);
    await a.kill();
    await until("a's subscriptions gone with it", () => hub.subscriptions.size === 1);
    // b, untouched, still hears what is published on the primary's bus.
    createInProcessBus(hub).publish("x.three", enc("still"));
    await until("b's message", async () => ((await b.command("received", { subject: "x.three" })) as string[]).length === 1);
  });

  it("answers a request from the primary in a worker", async () => {
    const { bus, workers } = await primaryWithWorkers(1);
    await workers[0]!.command("subscribe", { subject: "snap.edge-w", echo: true });
    expect(dec(await bus.request("snap.edge-w", enc("from primary"), 2_000))).toBe("re: from primary");
  });

  it("goes disconnected when the primary dies: publishes dropped, requests rejected, status heard", async () => {
    const primary = await fork("host");
    const bus = createChannelBus(primary.channel);
    closers.push(() => bus.close());
    const statuses: BusStatus[] = [];
    const down = new Promise<void>((resolve) => bus.onStatus((s) => (statuses.push(s), resolve())));
    const silent: BusMessage[] = [];
    bus.subscribe("s.silent", (m) => void silent.push(m));
    await until("the subscription in the primary", async () => (await primary.command("subscriptions")) === 1);
    const pending = bus.request("s.silent", enc("?"), 10_000).catch((e: unknown) => e);
    await until("the request through the primary, unanswered", () => silent.length === 1);
    expect(bus.connected).toBe(true);
    await primary.kill();
    await within(5_000, "the disconnected status", down);
    expect(statuses.map((s) => s.kind)).toEqual(["disconnected"]);
    expect(bus.connected).toBe(false);
    const failed = await pending;
    expect(failed).toBeInstanceOf(OnrampError);
    expect((failed as OnrampError).message).toMatch(/channel to the primary process closed; no reply on s.silent/);
    bus.publish("s.silent", enc("dropped"));
    await expect(bus.request("s.silent", enc("?"), 1_000)).rejects.toThrow(/not connected/);
  });

  it("goes disconnected when the primary closes its host, and unsubscribes there", async () => {
    const primary = await fork("host");
    const bus = createChannelBus(primary.channel);
    closers.push(() => bus.close());
    const down = new Promise<BusStatus>((resolve) => bus.onStatus(resolve));
    bus.subscribe("c.one", () => undefined);
    await until("the subscription in the primary", async () => (await primary.command("subscriptions")) === 1);
    await primary.command("closeHost");
    expect((await within(5_000, "the disconnected status", down)).kind).toBe("disconnected");
    expect(await primary.command("subscriptions")).toBe(0);
  });

  it("unsubscribes everything at the primary when a worker closes its bus", async () => {
    const primary = await fork("host");
    const [a, b] = [createChannelBus(primary.channel), createChannelBus(primary.channel)];
    closers.push(() => b.close());
    a.subscribe("w.one", () => undefined);
    a.subscribe("w.two", () => undefined);
    b.subscribe("w.three", () => undefined);
    await until("three subscriptions in the primary", async () => (await primary.command("subscriptions")) === 3);
    await a.close();
    expect(a.connected).toBe(false);
    await until("a's subscriptions gone", async () => (await primary.command("subscriptions")) === 1);
    expect(b.connected).toBe(true);
  });
});
