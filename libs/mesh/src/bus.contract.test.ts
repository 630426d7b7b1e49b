import { OnrampError } from "@onramp/errors";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startNatsCluster, type NatsCluster } from "../../../e2e/harness/nats-server.js";
import { within } from "../../../e2e/harness/within.js";
import { forkIpcChild, type IpcChild } from "../../../e2e/harness/ipc-child.js";
import { createChannelBus } from "./channel-bus.js";
import type { Bus, BusMessage, BusStatus } from "./bus.js";
import { createInProcessBus, InProcessBusHub } from "./in-process-bus.js";
import { createNatsBus } from "./nats-bus.js";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);
let seq = 0;
/** A subject no other test uses, so a late message from one test never reaches another. */
const fresh = (): string => `test.${process.pid}.${++seq}`;


/** Collects what a subscription receives; `waitFor(n)` resolves once `n` messages arrived. */
function collect(bus: Bus, subject: string) {
  const received: string[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const unsubscribe = bus.subscribe(subject, (m: BusMessage) => {
    received.push(`${m.subject}=${dec(m.data)}`);
    for (const w of waiters) if (received.length >= w.n) w.resolve();
  });
  const waitFor = (n: number): Promise<string[]> =>
    within(5_000, `${n} messages on ${subject} (got ${received.length})`, new Promise<void>((resolve) => {
      if (received.length >= n) resolve();
      else waiters.push({ n, resolve });
    })).then(() => received);
  return { received, waitFor, unsubscribe };
}

/**
 * Resolves once `from` reaches every subscription `to` made so far. NATS propagates interest
 * between servers asynchronously, in order over one route; a responder subscribed last that
 * answers proves the earlier subscriptions arrived too. Polls, bounded: this is readiness.
 */
async function interestVisible(from: Bus, to: Bus): Promise<void> {
  const probe = fresh();
  const stop = to.subscribe(probe, (m) => m.respond(m.data));
  try {
    await within(5_000, `interest from ${probe}`, (async () => {
      for (;;) {
        try {
          await from.request(probe, enc("?"), 200);
          return;
        } catch {
          // no responders yet: interest not propagated
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
    })());
  } finally {
    stop();
  }
}

/** Records a bus's status changes; `next(kind)` resolves with the next one of that kind. */
function statuses(bus: Bus) {
  const seen: BusStatus[] = [];
  let wake: (() => void) | undefined;
  bus.onStatus((s) => {
    seen.push(s);
    wake?.();
  });
  let read = 0;
  const next = (kind: BusStatus["kind"], ms = 10_000): Promise<BusStatus> =>
    within(ms, `status ${kind} (seen ${seen.map((s) => s.kind).join(",")})`, new Promise<BusStatus>((resolve) => {
      const check = () => {
        for (; read < seen.length; read++) {
          if (seen[read]!.kind === kind) return resolve(seen[read++]!);
        }
        wake = check;
      };
      check();
    }));
  return { seen, next };
}

export function busContract(name: string, makeBuses: () => Promise<[Bus, Bus]>): void {
  describe(`Bus contract: ${name}`, () => {
    let a: Bus;
    let b: Bus;
    beforeEach(async () => {
      [a, b] = await makeBuses();
    });
    afterEach(async () => {
      await Promise.all([a.close(), b.close()]);
    });

    it("delivers what one handle publishes to another's subscription", async () => {
      const subject = fresh();
      const got = collect(b, subject);
      await interestVisible(a, b);
      a.publish(subject, enc("hello"));
      expect(await got.waitFor(1)).toEqual([`${subject}=hello`]);
      expect(a.connected && b.connected).toBe(true);
    });

    it("matches `*` to one token and `>` to the rest", async () => {
      const root = fresh();
      const star = collect(b, `${root}.*.x`);
      const tail = collect(b, `${root}.>`);
      await interestVisible(a, b);
      for (const s of ["a.x", "a.y", "a.b.x", "b.x"]) a.publish(`${root}.${s}`, enc(s));
      // `>` sees all four, in order; by then `*` has seen everything it will.
      expect(await tail.waitFor(4)).toEqual(["a.x", "a.y", "a.b.x", "b.x"].map((s) => `${root}.${s}=${s}`));
      expect(star.received).toEqual([`${root}.a.x=a.x`, `${root}.b.x=b.x`]);
    });

    it("stops delivering once unsubscribed", async () => {
      const subject = fresh();
      const sentinel = fresh();
      const got = collect(b, subject);
      const done = collect(b, sentinel);
      await interestVisible(a, b);
      a.publish(subject, enc("1"));
      await got.waitFor(1);
      got.unsubscribe();
      a.publish(subject, enc("2"));
      a.publish(sentinel, enc("end"));
      // The sentinel, published after, arrives after anything still on its way.
      await done.waitFor(1);
      expect(got.received).toEqual([`${subject}=1`]);
    });

    it("keeps one publisher's messages in order", async () => {
      const subject = fresh();
      const got = collect(b, subject);
      await interestVisible(a, b);
      const n = 500;
      for (let i = 0; i < n; i++) a.publish(subject, enc(String(i)));
      expect(await got.waitFor(n)).toEqual(Array.from({ length: n }, (_, i) => `${subject}=${i}`));
    });

    it("answers requests, and rejects with no responders or on timeout", async () => {
      const echo = fresh();
      const silent = fresh();
      b.subscribe(echo, (m) => m.respond(enc(`re: ${dec(m.data)}`)));
      b.subscribe(silent, () => undefined);
      await interestVisible(a, b);
      expect(dec(await a.request(echo, enc("ping"), 2_000))).toBe("re: ping");

      const none = await a.request(fresh(), enc("?"), 2_000).catch((e: unknown) => e);
      expect(none).toBeInstanceOf(OnrampError);
      expect((none as OnrampError).message).toMatch(/no responders/);

      const late = await a.request(silent, enc("?"), 100).catch((e: unknown) => e);
      expect(late).toBeInstanceOf(OnrampError);
      expect((late as OnrampError).message).toMatch(/no reply .* within 100 ms/);
    });

    it("reports respond() false for a message that was not a request", async () => {
      const subject = fresh();
      const answered = new Promise<[boolean, boolean]>((resolve) => b.subscribe(subject, (m) => resolve([m.isRequest, m.respond(enc("x"))])));
      await interestVisible(a, b);
      a.publish(subject, enc("plain"));
      expect(await within(5_000, "the message", answered)).toEqual([false, false]);
    });

    it("tells a request from a publish", async () => {
      const subject = fresh();
      b.subscribe(subject, (m) => m.respond(enc(String(m.isRequest))));
      await interestVisible(a, b);
      expect(dec(await a.request(subject, enc("?"), 5_000))).toBe("true");
    });
  });
}

busContract("in-process", async () => {
  const hub = new InProcessBusHub();
  return [createInProcessBus(hub), createInProcessBus(hub)];
});

// Two handles of a worker process over its channel to the primary's in-process bus: the primary
// here is a real forked process, the handles talk to it over Node IPC.
describe("channel bus", () => {
  let primary: IpcChild;
  beforeAll(async () => {
    primary = await forkIpcChild(new URL("./channel-bus.fixture.mjs", import.meta.url).pathname, ["host"]);
  }, 30_000);
  afterAll(() => primary?.kill());

  busContract("channel to a forked primary", async () => [createChannelBus(primary.channel), createChannelBus(primary.channel)]);
});

describe("NATS bus", () => {
  let cluster: NatsCluster;
  beforeAll(async () => {
    cluster = await startNatsCluster(3);
  }, 30_000);
  afterAll(async () => {
    await cluster?.stop();
  });
  // Each test leaves the cluster as it found it: every node running.
  afterEach(async () => {
    for (const node of cluster.nodes) node.resume();
    await Promise.all(cluster.nodes.filter((n) => !n.running).map((n) => n.restart()));
  }, 30_000);

  const connectedBus = async (servers: string[], extra: { pingIntervalMs?: number; connectTimeoutMs?: number } = {}): Promise<Bus> => {
    const bus = await createNatsBus({ servers, name: `test-${servers.join(",")}`, ...extra });
    if (!bus.connected) await statuses(bus).next("connected");
    return bus;
  };

  // Two handles on different nodes: every message crosses a route.
  busContract("NATS, 3-node cluster", async () => [await connectedBus([cluster.urls[0]!]), await connectedBus([cluster.urls[1]!])]);

  it("fails over when its server dies: disconnected, then connected to another node, and messages flow", async () => {
    const a = await connectedBus([cluster.urls[0]!]);
    const b = await connectedBus([cluster.urls[1]!]);
    try {
      const subjectA = fresh();
      const toA = collect(a, subjectA);
      const events = statuses(a);
      await cluster.nodes[0]!.kill();
      await events.next("disconnected");
      const back = await events.next("connected");
      expect(back.kind === "connected" && back.server).not.toContain(new URL(cluster.urls[0]!).port);
      // The subscription `a` made before the failover was re-established on its new server.
      const subject = fresh();
      const toB = collect(b, subject);
      await interestVisible(a, b);
      await interestVisible(b, a);
      a.publish(subject, enc("after"));
      b.publish(subjectA, enc("back"));
      expect(await toB.waitFor(1)).toEqual([`${subject}=after`]);
      expect(await toA.waitFor(1)).toEqual([`${subjectA}=back`]);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("notices a server that hangs without closing the socket, by its pings", async () => {
    const a = await connectedBus([cluster.urls[2]!], { pingIntervalMs: 200, connectTimeoutMs: 1_000 });
    try {
      const events = statuses(a);
      cluster.nodes[2]!.pause();
      const down = await events.next("disconnected");
      expect(down.kind === "disconnected" && down.error?.message).toMatch(/no answer to 2 pings/);
      await events.next("connected");
      expect(a.connected).toBe(true);
    } finally {
      cluster.nodes[2]!.resume();
      await a.close();
    }
  });

  it("starts while every server is down and connects once one comes up", async () => {
    await cluster.stop();
    const a = await createNatsBus({ servers: cluster.urls });
    try {
      const events = statuses(a);
      expect(a.connected).toBe(false);
      a.publish(fresh(), enc("dropped"));
      await expect(a.request(fresh(), enc("?"), 100)).rejects.toThrow(/not connected/);
      await events.next("disconnected");
      await cluster.nodes[1]!.restart();
      await events.next("connected");
      expect(a.connected).toBe(true);
    } finally {
      await a.close();
    }
  });

  it("closes promptly even when it never connected", async () => {
    await cluster.stop();
    const a = await createNatsBus({ servers: [cluster.urls[0]!] });
    await a.close();
    expect(a.connected).toBe(false);
  });

  it("rejects bad options naming the field", async () => {
    await expect(createNatsBus({ servers: [] })).rejects.toThrow(/servers must list/);
    await expect(createNatsBus({ servers: ["http://x:1"] })).rejects.toThrow(/servers must hold/);
    await expect(createNatsBus({ servers: ["nats://x:1"], pingIntervalMs: 0 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(createNatsBus({ servers: ["nats://x:1"], maxPingOut: 1.5 })).rejects.toThrow(/maxPingOut must be an integer/);
  });

  it("refuses subjects NATS would refuse, connected or not", async () => {
    const a = await createNatsBus({ servers: [cluster.urls[0]!] });
    try {
      expect(() => a.subscribe("a..b", () => undefined)).toThrow(/invalid NATS subject/);
      expect(() => a.publish("a b", enc("x"))).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    } finally {
      await a.close();
    }
  });
});
