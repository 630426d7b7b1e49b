import { fromBinary } from "@bufbuild/protobuf";
import { SUBJECT_HEARTBEAT, SUBJECT_STATUS, type Bus, type MemberStatus } from "@onramp/mesh";
import { EdgeHeartbeatSchema, MemberStatusUpdateSchema } from "@onramp/proto";
import type { Logger } from "@onramp/telemetry";

/**
 * What the API hears of the mesh on its bus, which the registry does not hold: when each edge
 * last heartbeated, and how each member is (its edge's status updates, libs/mesh gossip.ts).
 * Without a bus it hears nothing, and every answer is "unknown".
 */
export interface MeshObserver {
  /** When the edge's last heartbeat arrived (ms since the epoch); undefined before the first, or once it said it was leaving. */
  lastHeartbeat(edge: string): number | undefined;
  /**
   * The latest status reported for the binding `key`, if it was reported for `revision`, the
   * revision of the write the registry lists. A status names the revision it is about; one about
   * an earlier write of the key (the agent bound again) says nothing of the binding there now.
   */
  statusOf(key: string, revision: number): MemberStatus | undefined;
  /**
   * Forgets the edges not in `live` that were last heard before `since`: the time a registry read
   * listing `live` began (an edge heard after it may have registered after the read).
   */
  keepEdges(live: ReadonlySet<string>, since: number): void;
  /** The same for the statuses of bindings, by key. */
  keepBindings(live: ReadonlySet<string>, since: number): void;
  /** Stops listening; the bus stays open (its owner closes it). */
  close(): void;
}

interface HeardStatus {
  readonly edge: string;
  readonly status: MemberStatus;
  readonly at: number;
}

/**
 * Statuses kept at most: far more members than a mesh holds. Statuses of bindings that are gone
 * are forgotten when the endpoints view is read, and an edge's when it leaves; only a registry
 * whose endpoints are never read lets departed members' statuses pile up, to this many.
 */
const STATUS_LIMIT = 100_000;

export function createMeshObserver(bus: Bus | undefined, logger: Logger): MeshObserver {
  const heartbeats = new Map<string, number>();
  /** In the order they were last heard, oldest first: the first is the one to drop at the limit. */
  const statuses = new Map<string, HeardStatus>();
  const unsubscribe: Array<() => void> = [];

  const forgetEdge = (edge: string) => {
    heartbeats.delete(edge);
    for (const [key, heard] of statuses) if (heard.edge === edge) statuses.delete(key);
  };

  /** Gossip from a newer or broken edge must not take the API down: the message is dropped. */
  const decoding = (what: string, handle: (data: Uint8Array) => void) => (message: { data: Uint8Array }) => {
    try {
      handle(message.data);
    } catch (err) {
      logger.debug({ err }, `undecodable ${what} on the bus ignored`);
    }
  };

  if (bus) {
    unsubscribe.push(
      bus.subscribe(
        SUBJECT_HEARTBEAT,
        decoding("heartbeat", (data) => {
          const hb = fromBinary(EdgeHeartbeatSchema, data);
          if (hb.leaving) forgetEdge(hb.edgeId);
          else heartbeats.set(hb.edgeId, Date.now());
        }),
      ),
      bus.subscribe(
        SUBJECT_STATUS,
        decoding("member status", (data) => {
          const update = fromBinary(MemberStatusUpdateSchema, data);
          const at = Date.now();
          for (const m of update.members) {
            const status: MemberStatus = { key: m.key, revision: Number(m.revision), healthy: m.healthy, load: m.load, detail: m.detail };
            const before = statuses.get(status.key);
            // About an older write of the key than a status already heard: stale.
            if (before && before.status.revision > status.revision) continue;
            statuses.delete(status.key);
            statuses.set(status.key, { edge: update.edgeId, status, at });
          }
          for (const key of statuses.keys()) {
            if (statuses.size <= STATUS_LIMIT) break;
            statuses.delete(key);
          }
        }),
      ),
    );
  }

  return {
    lastHeartbeat: (edge) => heartbeats.get(edge),
    statusOf(key, revision) {
      const heard = statuses.get(key);
      return heard?.status.revision === revision ? heard.status : undefined;
    },
    keepEdges(live, since) {
      for (const [edge, at] of heartbeats) if (!live.has(edge) && at < since) heartbeats.delete(edge);
    },
    keepBindings(live, since) {
      for (const [key, heard] of statuses) if (!live.has(key) && heard.at < since) statuses.delete(key);
    },
    close() {
      for (const stop of unsubscribe.splice(0)) stop();
    },
  };
}
