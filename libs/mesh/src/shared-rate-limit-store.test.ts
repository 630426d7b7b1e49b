import { fromBinary } from "@bufbuild/protobuf";
import { RateLimitDeltaSchema } from "@onramp/proto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startNatsCluster, type NatsCluster } from "../../../e2e/harness/nats-server.js";
import { within } from "../../../e2e/harness/within.js";
import type { Bus } from "./bus.js";
import { createInProcessBus, InProcessBusHub } from "./in-process-bus.js";
import { createNatsBus } from "./nats-bus.js";
import { createSharedRateLimitStore, SUBJECT_RATE_LIMIT, type SharedRateLimitStore, type SharedRateLimitStoreOptions } from "./shared-rate-limit-store.js";

const MINUTE = 60_000;
const KEY = "https://api.example.com\u0000per key\u0000alpha";
const OTHER = "https://api.example.com\u0000per key\u0000beta";


/** Resolves once `cond()` holds, re-checked whenever `wake` is called. */
function until(what: string, cond: () => boolean, wakers: Set<() => void>): Promise<void> {
  return within(5_000, what, new Promise<void>((resolve) => {
    const check = () => {
      if (!cond()) return;
      wakers.delete(check);
      resolve();
    };
    wakers.add(check);
    check();
  }));
}

/** Three edges, a store on each bus, and a way to wait until one edge heard another. */
function edgesOn(buses: Bus[], clock: { now: number }, options: Partial<SharedRateLimitStoreOptions> = {}) {
  const heard = buses.map(() => new Map<string, number>());
  const wakers = new Set<() => void>();
  const stores = buses.map((bus, i) =>
    createSharedRateLimitStore({
      bus,
      edgeId: `edge-${i}`,
      now: () => clock.now,
      onRemoteCounts: (from) => {
        heard[i]!.set(from, (heard[i]!.get(from) ?? 0) + 1);
        for (const wake of [...wakers]) wake();
      },
      ...options,
    }),
  );
  return {
    stores,
    /** Resolves once edge `to` has applied `n` deltas from edge `from`. */
    heard: (to: number, from: number, n: number) =>
      until(`edge-${to} to hear ${n} deltas from edge-${from}`, () => (heard[to]!.get(`edge-${from}`) ?? 0) >= n, wakers),
    close: () => stores.forEach((s) => s.close()),
  };
}

/** Hits `store` `n` times at `nowMs`; returns how many were allowed. */
function hits(store: SharedRateLimitStore, key: string, n: number, nowMs: number, capacity = 5, windowMs = MINUTE): number {
  let allowed = 0;
  for (let i = 0; i < n; i++) if (store.hit(key, capacity, windowMs, nowMs).allowed) allowed++;
  return allowed;
}

interface Mesh {
  buses: Bus[];
  /** Every bus loses its connection (and knows it). */
  disconnect(): Promise<void>;
  reconnect(): Promise<void>;
  /** Resolves once every bus's subscriptions so far are reachable from every other bus. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

function sharedRateLimitSuite(name: string, makeMesh: () => Promise<Mesh>): void {
  describe(`shared rate-limit store over ${name}`, () => {
    let mesh: Mesh;
    let edges: ReturnType<typeof edgesOn>;
    const t0 = Math.floor(Date.now() / MINUTE) * MINUTE;
    const clock = { now: t0 };
    const setup = async () => {
      mesh = await makeMesh();
      clock.now = t0;
      edges = edgesOn(mesh.buses, clock);
      await mesh.settled();
    };
    afterEach(async () => {
      edges.close();
      await mesh.close();
    });

    it("lets exactly the capacity through across edges once counts have spread between hits", async () => {
      await setup();
      const sent = [0, 0, 0];
      let allowed = 0;
      for (let i = 0; i < 45; i++) {
        const s = i % 3;
        clock.now = t0 + i * 20;
        if (!edges.stores[s]!.hit(KEY, 30, MINUTE, clock.now).allowed) continue;
        allowed++;
        sent[s]!++;
        await Promise.all([0, 1, 2].filter((j) => j !== s).map((j) => edges.heard(j, s, sent[s]!)));
      }
      expect(allowed).toBe(30);
      const denied = edges.stores[0]!.hit(KEY, 30, MINUTE, clock.now);
      expect(denied).toMatchObject({ allowed: false, remaining: 0 });
      expect(denied.retryAfterMs).toBeGreaterThan(0);
    });

    it("stays within 5% of a global 30/min at one request every ~20 ms, round-robin", async () => {
      await setup();
      const start = performance.now();
      let allowed = 0;
      for (let i = 0; i < 75; i++) {
        clock.now = t0 + Math.round(performance.now() - start);
        if (edges.stores[i % 3]!.hit(KEY, 30, MINUTE, clock.now).allowed) allowed++;
        // Pacing the load, not waiting for a state.
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(Math.abs(allowed - 30)).toBeLessThanOrEqual(30 * 0.05);
    });

    it("keeps deciding while the bus is down, and never sends what it counted meanwhile", async () => {
      await setup();
      await mesh.disconnect();
      // Each edge counts alone.
      expect(hits(edges.stores[0]!, KEY, 8, clock.now)).toBe(5);
      expect(hits(edges.stores[1]!, KEY, 8, clock.now)).toBe(5);
      await mesh.reconnect();
      await mesh.settled();
      // New counts flow again; the bus keeps each publisher's order, so anything replayed from
      // the outage would have reached edge 2 before these.
      expect(hits(edges.stores[0]!, OTHER, 1, clock.now)).toBe(1);
      expect(hits(edges.stores[1]!, OTHER, 1, clock.now)).toBe(1);
      await Promise.all([edges.heard(2, 0, 1), edges.heard(2, 1, 1)]);
      expect(hits(edges.stores[2]!, KEY, 8, clock.now)).toBe(5);
      expect(hits(edges.stores[2]!, OTHER, 8, clock.now)).toBe(3);
    });
  });
}

/** A bus whose connection a test can cut: drops publishes and reports disconnected while cut. */
function cuttable(bus: Bus): Bus & { up: boolean } {
  return {
    up: true,
    get connected() {
      return this.up && bus.connected;
    },
    publish(subject, data) {
      if (this.up) bus.publish(subject, data);
    },
    subscribe: (subject, handler) => bus.subscribe(subject, handler),
    request: (subject, data, timeoutMs) => bus.request(subject, data, timeoutMs),
    onStatus: (listener) => bus.onStatus(listener),
    close: () => bus.close(),
  };
}

sharedRateLimitSuite("the in-process bus", async () => {
  const hub = new InProcessBusHub();
  const buses = [0, 1, 2].map(() => cuttable(createInProcessBus(hub)));
  return {
    buses,
    disconnect: async () => buses.forEach((b) => (b.up = false)),
    reconnect: async () => buses.forEach((b) => (b.up = true)),
    settled: async () => undefined,
    close: async () => void (await Promise.all(buses.map((b) => b.close()))),
  };
});

describe("over NATS", () => {
  let cluster: NatsCluster;
  beforeAll(async () => {
    cluster = await startNatsCluster(3);
  }, 30_000);
  afterAll(async () => {
    await cluster?.stop();
  });

  /** Resolves once `bus.connected` is `up`. */
  const state = (bus: Bus, up: boolean) => {
    const wakers = new Set<() => void>();
    const stop = bus.onStatus(() => [...wakers].forEach((wake) => wake()));
    return until(`bus ${up ? "connected" : "disconnected"}`, () => bus.connected === up, wakers).finally(stop);
  };

  /** Polls a responder on `to` from `from` until it answers: interest travels in order over routes. */
  const interestVisible = async (from: Bus, to: Bus) => {
    const probe = `probe.${process.pid}.${Math.random().toString(36).slice(2)}`;
    const stop = to.subscribe(probe, (m) => m.respond(m.data));
    const poll = async () => {
      for (;;) {
        const ok = await from.request(probe, new Uint8Array(1), 200).then(() => true, () => false);
        if (ok) return;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    await within(5_000, `interest on ${probe}`, poll()).finally(stop);
  };

  sharedRateLimitSuite("a 3-node NATS cluster, one edge per node", async () => {
    await Promise.all(cluster.nodes.filter((n) => !n.running).map((n) => n.restart()));
    const buses = await Promise.all(cluster.urls.map((url) => createNatsBus({ servers: [url] })));
    await Promise.all(buses.map((b) => state(b, true)));
    return {
      buses,
      disconnect: async () => {
        const down = buses.map((b) => state(b, false));
        await cluster.stop();
        await Promise.all(down);
      },
      reconnect: async () => {
        for (const node of cluster.nodes) await node.restart();
        await Promise.all(buses.map((b) => state(b, true)));
      },
      settled: async () => {
        for (const from of buses) for (const to of buses) if (from !== to) await interestVisible(from, to);
      },
      close: async () => void (await Promise.all(buses.map((b) => b.close()))),
    };
  });
});

describe("shared rate-limit store", () => {
  const t0 = 1_000_000 * MINUTE;

  it("weighs the previous window's global count, as the memory store does", async () => {
    const hub = new InProcessBusHub();
    const [a, b] = [createInProcessBus(hub), createInProcessBus(hub)];
    const w = 10_000;
    let received = 0;
    const wakers = new Set<() => void>();
    const storeA = createSharedRateLimitStore({ bus: a, edgeId: "a", now: () => t0 });
    const storeB = createSharedRateLimitStore({ bus: b, edgeId: "b", now: () => t0, onRemoteCounts: () => (received++, [...wakers].forEach((f) => f())) });
    for (let i = 0; i < 10; i++) storeA.hit(KEY, 10, w, t0 + i);
    await until("edge b to hear edge a", () => received === 1, wakers);
    // Halfway through the next window, half of edge a's 10 still count at edge b: 5 more fit.
    expect(hits(storeB, KEY, 10, t0 + w + w / 2, 10, w)).toBe(5);
    storeA.close();
    storeB.close();
  });

  it("batches a flush into one message, split at 1000 counts", async () => {
    const hub = new InProcessBusHub();
    const tap = createInProcessBus(hub);
    const messages: number[] = [];
    const wakers = new Set<() => void>();
    tap.subscribe(SUBJECT_RATE_LIMIT, (m) => {
      messages.push(fromBinary(RateLimitDeltaSchema, m.data).counts.length);
      [...wakers].forEach((wake) => wake());
    });
    const store = createSharedRateLimitStore({ bus: createInProcessBus(hub), edgeId: "a", now: () => t0 });
    for (let i = 0; i < 2500; i++) store.hit(`client-${i}`, 10, MINUTE, t0);
    for (let i = 0; i < 100; i++) store.hit("client-0", 1_000, MINUTE, t0);
    await until("three messages", () => messages.length === 3, wakers);
    expect(messages).toEqual([1000, 1000, 500]);
    store.close();
  });

  it("evicts idle buckets and keeps at most maxKeys, its own and those heard from others", async () => {
    const hub = new InProcessBusHub();
    let now = t0;
    const wakers = new Set<() => void>();
    let received = 0;
    const a = createSharedRateLimitStore({ bus: createInProcessBus(hub), edgeId: "a", now: () => now, maxKeys: 100 });
    const b = createSharedRateLimitStore({ bus: createInProcessBus(hub), edgeId: "b", now: () => now, maxKeys: 100, onRemoteCounts: (_, n) => ((received += n), [...wakers].forEach((f) => f())) });
    for (let i = 0; i < 1000; i++) a.hit(`client-${i}`, 10, 1000, now);
    expect(a.size).toBe(100);
    await until("edge b to hear 1000 counts", () => received === 1000, wakers);
    expect(b.size).toBe(100);
    now += 10_000;
    a.hit("late", 10, 1000, now);
    expect(a.size).toBe(1);
    a.close();
    b.close();
  });

  it("with flushIntervalMs 0, publishes a hit on the next turn of the event loop", async () => {
    const hub = new InProcessBusHub();
    const clock = { now: 1_000 };
    const mesh = edgesOn([createInProcessBus(hub), createInProcessBus(hub)], clock, { flushIntervalMs: 0 });
    expect(hits(mesh.stores[0]!, KEY, 3, clock.now)).toBe(3);
    // The store's immediate runs before this one, and the in-process bus delivers in a microtask
    // right after it: with a 10 ms timer edge 1 would still allow all 5 here.
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(hits(mesh.stores[1]!, KEY, 5, clock.now)).toBe(2);
    mesh.close();
  });

  it("rejects bad options naming the field", () => {
    const bus = createInProcessBus();
    expect(() => createSharedRateLimitStore({ bus, edgeId: "" })).toThrow(/edgeId must be/);
    expect(() => createSharedRateLimitStore({ bus, edgeId: "a", flushIntervalMs: -1 })).toThrow(/flushIntervalMs must be/);
    expect(() => createSharedRateLimitStore({ bus, edgeId: "a", maxKeys: 0.5 })).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });
});
