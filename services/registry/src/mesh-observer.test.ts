import { create, toBinary } from "@bufbuild/protobuf";
import { createInProcessBus, InProcessBusHub, SUBJECT_HEARTBEAT, SUBJECT_STATUS, type MemberStatus } from "@onramp/mesh";
import { EdgeHeartbeatSchema, MemberStatusUpdateSchema } from "@onramp/proto";
import { silentLogger } from "@onramp/telemetry";
import { afterEach, describe, expect, it } from "vitest";
import { createMeshObserver, type MeshObserver } from "./mesh-observer.js";

/**
 * The observer over an in-process bus, fed the bytes edges publish (encoded as gossip.ts does).
 * The bus delivers each message to its subscribers in the order they subscribed, so once a probe
 * subscribed after the observer hears a message, the observer has handled it and every message
 * published before it: each wait is for that signal, bounded, never a sleep.
 */

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** An observer on its own handle of a fresh bus; the edges' messages come from other handles. */
function setup(): { observer: MeshObserver; hub: InProcessBusHub } {
  const hub = new InProcessBusHub();
  const bus = createInProcessBus(hub);
  const observer = createMeshObserver(bus, silentLogger());
  cleanups.push(() => bus.close(), () => observer.close());
  return { observer, hub };
}

/** Publishes on `subject` and resolves once a probe subscribed now (after the observer) has heard it. */
async function delivered(hub: InProcessBusHub, subject: string, data: Uint8Array): Promise<void> {
  const probe = createInProcessBus(hub);
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`the bus did not deliver on ${subject} within 2 s`)), 2_000);
      probe.subscribe(subject, () => resolve());
      probe.publish(subject, data);
    });
  } finally {
    clearTimeout(timer);
    await probe.close();
  }
}

const heartbeat = (edgeId: string, leaving = false) => toBinary(EdgeHeartbeatSchema, create(EdgeHeartbeatSchema, { edgeId, region: "eu", advertise: `${edgeId}:4443`, seq: 1n, leaving }));

const statusUpdate = (edgeId: string, ...members: MemberStatus[]) =>
  toBinary(
    MemberStatusUpdateSchema,
    create(MemberStatusUpdateSchema, { edgeId, members: members.map((m) => ({ key: m.key, revision: BigInt(m.revision), healthy: m.healthy, load: m.load, detail: m.detail })) }),
  );

const status = (key: string, revision: number, healthy: boolean, load = 0): MemberStatus => ({ key, revision, healthy, load, detail: healthy ? "" : "connection refused" });

describe("MeshObserver", () => {
  it("keeps when each edge last heartbeated, and forgets an edge and its members' statuses when it says it is leaving", async () => {
    const { observer, hub } = setup();
    const before = Date.now();
    await delivered(hub, SUBJECT_HEARTBEAT, heartbeat("edge-a"));
    await delivered(hub, SUBJECT_STATUS, statusUpdate("edge-a", status("k-a", 5, true, 3)));
    await delivered(hub, SUBJECT_STATUS, statusUpdate("edge-b", status("k-b", 6, true)));
    const heard = observer.lastHeartbeat("edge-a");
    expect(heard).toBeGreaterThanOrEqual(before);
    expect(heard).toBeLessThanOrEqual(Date.now());
    expect(observer.lastHeartbeat("edge-b")).toBeUndefined();
    expect(observer.statusOf("k-a", 5)).toEqual(status("k-a", 5, true, 3));

    await delivered(hub, SUBJECT_HEARTBEAT, heartbeat("edge-a", true));
    expect(observer.lastHeartbeat("edge-a")).toBeUndefined();
    expect(observer.statusOf("k-a", 5)).toBeUndefined();
    expect(observer.statusOf("k-b", 6)).toEqual(status("k-b", 6, true));
  });

  it("answers with a status only for the revision it was reported for, and lets no older one replace a newer", async () => {
    const { observer, hub } = setup();
    await delivered(hub, SUBJECT_STATUS, statusUpdate("edge-a", status("k", 7, true, 1), status("other", 3, false)));
    expect(observer.statusOf("k", 7)).toEqual(status("k", 7, true, 1));
    expect(observer.statusOf("k", 8)).toBeUndefined(); // the agent bound again: its health is not known yet
    expect(observer.statusOf("other", 3)).toEqual(status("other", 3, false));

    await delivered(hub, SUBJECT_STATUS, statusUpdate("edge-a", status("k", 8, false)));
    await delivered(hub, SUBJECT_STATUS, statusUpdate("edge-a", status("k", 7, true, 2))); // late, about the earlier write
    expect(observer.statusOf("k", 8)).toEqual(status("k", 8, false));
    expect(observer.statusOf("k", 7)).toBeUndefined();

    await delivered(hub, SUBJECT_STATUS, statusUpdate("edge-a", status("k", 8, true, 4)));
    expect(observer.statusOf("k", 8)).toEqual(status("k", 8, true, 4));
  });

  it("forgets edges and bindings a registry read no longer lists, unless heard since the read began", async () => {
    const { observer, hub } = setup();
    await delivered(hub, SUBJECT_HEARTBEAT, heartbeat("gone"));
    await delivered(hub, SUBJECT_HEARTBEAT, heartbeat("listed"));
    await delivered(hub, SUBJECT_STATUS, statusUpdate("listed", status("gone-key", 1, true), status("listed-key", 2, true)));
    const readBegan = Date.now() + 1; // everything so far was heard before the read
    observer.keepEdges(new Set(["listed"]), readBegan);
    observer.keepBindings(new Set(["listed-key"]), readBegan);
    expect(observer.lastHeartbeat("gone")).toBeUndefined();
    expect(observer.lastHeartbeat("listed")).toBeDefined();
    expect(observer.statusOf("gone-key", 1)).toBeUndefined();
    expect(observer.statusOf("listed-key", 2)).toBeDefined();

    // Heard after a read began: the read may predate the edge's registration or the bind.
    const earlierRead = Date.now();
    await delivered(hub, SUBJECT_HEARTBEAT, heartbeat("new"));
    await delivered(hub, SUBJECT_STATUS, statusUpdate("new", status("new-key", 3, true)));
    observer.keepEdges(new Set(["listed"]), earlierRead);
    observer.keepBindings(new Set(["listed-key"]), earlierRead);
    expect(observer.lastHeartbeat("new")).toBeDefined();
    expect(observer.statusOf("new-key", 3)).toBeDefined();
  });

  it("drops what it cannot decode and goes on", async () => {
    const { observer, hub } = setup();
    const broken = new Uint8Array([0xff, 0xff, 0xff, 0xff]);
    await delivered(hub, SUBJECT_HEARTBEAT, broken);
    await delivered(hub, SUBJECT_STATUS, broken);
    await delivered(hub, SUBJECT_HEARTBEAT, heartbeat("edge-a"));
    expect(observer.lastHeartbeat("edge-a")).toBeDefined();
  });

  it("stops listening when closed, and knows nothing without a bus", async () => {
    const { observer, hub } = setup();
    observer.close();
    await delivered(hub, SUBJECT_HEARTBEAT, heartbeat("edge-a"));
    await delivered(hub, SUBJECT_STATUS, statusUpdate("edge-a", status("k", 1, true)));
    expect(observer.lastHeartbeat("edge-a")).toBeUndefined();
    expect(observer.statusOf("k", 1)).toBeUndefined();

    const deaf = createMeshObserver(undefined, silentLogger());
    expect(deaf.lastHeartbeat("edge-a")).toBeUndefined();
    expect(deaf.statusOf("k", 1)).toBeUndefined();
    deaf.close();
  });
});
