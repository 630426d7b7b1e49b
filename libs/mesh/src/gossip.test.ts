import type { StoredBinding } from "@onramp/registry";
import { afterEach, describe, expect, it } from "vitest";
import { BindingView } from "./binding-view.js";
import { fromMesh, Gossip, toMesh } from "./gossip.js";
import { createInProcessBus, InProcessBusHub } from "./in-process-bus.js";

interface Node {
  id: string;
  bus: ReturnType<typeof createInProcessBus>;
  view: BindingView;
  gossip: Gossip;
  events: string[];
}

const nodes: Node[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.gossip.close();
});

/** A bus whose incoming messages are dropped while `deaf.on`: a hung or cut-off connection. */
function deafenable(bus: ReturnType<typeof createInProcessBus>, deaf: { on: boolean }): ReturnType<typeof createInProcessBus> {
  return { ...bus, connected: true, publish: bus.publish, request: bus.request, onStatus: bus.onStatus, close: bus.close, subscribe: (subject, handler) => bus.subscribe(subject, (m) => deaf.on || handler(m)) };
}

function node(hub: InProcessBusHub, id: string, own: StoredBinding[] = [], deaf?: { on: boolean }): Node {
  const view = new BindingView();
  for (const b of own) view.put(b.key, b.revision, b.binding);
  const events: string[] = [];
  const bus = deaf ? deafenable(createInProcessBus(hub), deaf) : createInProcessBus(hub);
  const gossip = new Gossip({
    bus,
    edgeId: id,
    region: `r-${id}`,
    advertise: `127.0.0.1:${id.charCodeAt(0)}`,
    heartbeatIntervalMs: 20,
    deadAfterMs: 100,
    ownBindings: () => view.bindingsOf(id),
    digestOf: (edge) => view.digest(edge),
    handlers: {
      delta: (d) => (d.binding ? view.put(d.key, d.revision, d.binding) : view.remove(d.key, d.revision)),
      snapshot: (edge, bindings, revision) => {
        events.push(`snapshot ${edge}`);
        view.reset(bindings, revision, edge);
      },
      peerUp: (p) => events.push(`up ${p.id}`),
      peerDown: (edge) => {
        events.push(`down ${edge}`);
        view.setEdgeDead(edge, true);
      },
    },
  });
  gossip.start();
  const n = { id, bus, view, gossip, events };
  nodes.push(n);
  return n;
}

const stored = (edge: string, key: string, revision: number): StoredBinding => ({
  key,
  revision,
  binding: { url: "https://foo.internal", host: "foo.internal", pooling: true, traffic_policy: "", policy_hash: "", edge, region: `r-${edge}`, agent_id: "x", session_id: "s", bind_id: key, upstream: "", bound_at: "" },
});

async function until(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("Gossip", () => {
  it("heals a missed delta through the digest in the next heartbeat", async () => {
    const hub = new InProcessBusHub();
    const a = node(hub, "a", [stored("a", "k1", 1)]);
    const b = node(hub, "b");
    // b never saw a's binding announced: the heartbeat digest differs and b asks for a snapshot.
    await until(() => b.view.get("k1") !== undefined);
    expect(b.events).toContain("snapshot a");
    // A delta arrives at once.
    a.view.put("k2", 2, stored("a", "k2", 2).binding);
    a.gossip.announce("k2", 2, stored("a", "k2", 2).binding);
    await until(() => b.view.get("k2") !== undefined);
    a.view.remove("k1", 3);
    a.gossip.announce("k1", 3, undefined);
    await until(() => b.view.get("k1") === undefined);
  });

  it("declares a silent edge dead, and one that says goodbye dead at once", async () => {
    const hub = new InProcessBusHub();
    const a = node(hub, "a");
    const b = node(hub, "b");
    const c = node(hub, "c");
    await until(() => a.gossip.isAlive("b") && a.gossip.isAlive("c"));
    await c.gossip.close(); // goodbye
    await until(() => a.events.includes("down c"));
    // b goes silent without a goodbye, as a killed process would.
    await b.bus.close();
    await until(() => a.events.includes("down b"));
    expect(a.gossip.livePeers().map((p) => p.id)).toEqual([]);
  });

  it("judges no one while its own heartbeats do not come back (a hung bus), and resumes after", async () => {
    const hub = new InProcessBusHub();
    const deaf = { on: false };
    const a = node(hub, "a", [], deaf);
    node(hub, "b");
    await until(() => a.gossip.isAlive("b"));
    deaf.on = true; // a hears nothing, b and its heartbeats are fine
    await until(() => Date.now() - a.gossip.livePeers()[0]!.lastSeen > 300);
    expect(a.events).not.toContain("down b");
    deaf.on = false;
    await until(() => Date.now() - a.gossip.livePeers()[0]!.lastSeen < 50);
    expect(a.events).not.toContain("down b");
  });

  it("lists live peers with their advertise addresses", async () => {
    const hub = new InProcessBusHub();
    const a = node(hub, "a");
    node(hub, "b");
    await until(() => a.gossip.livePeers().length === 1);
    expect(a.gossip.livePeers()[0]).toMatchObject({ id: "b", region: "r-b", advertise: "127.0.0.1:98" });
  });
});

describe("bindings on the bus", () => {
  it("carry every field an edge routes by, including the weight and the workers' group", () => {
    const stored: StoredBinding = {
      key: "/onramp/v1/bindings/foo.internal/pool/agent_a/edge-a-w1",
      revision: 42,
      binding: {
        url: "https://foo.internal", host: "foo.internal", pooling: true, traffic_policy: "", policy_hash: "h",
        edge: "edge-a-w1", region: "r", agent_id: "agent_a", session_id: "s", bind_id: "b", upstream: "http://localhost:3000",
        bound_at: "", weight: 7, group: "edge-a",
      },
    };
    expect(fromMesh(toMesh(stored))).toEqual(stored);
    const alone = { ...stored, binding: { ...stored.binding, weight: undefined, group: undefined } };
    expect(fromMesh(toMesh(alone)).binding).not.toHaveProperty("group");
  });
});
