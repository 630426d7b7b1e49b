import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { ErrorCode, OnrampError } from "@onramp/errors";
import {
  BindingSnapshotSchema,
  EdgeHeartbeatSchema,
  MemberStatusUpdateSchema,
  MeshBindingSchema,
  PoolDeltaSchema,
  type BindingSnapshot,
  type EdgeHeartbeat,
  type MemberStatusUpdate,
  type MeshBinding,
  type PoolDelta,
} from "@onramp/proto";
import type { BindingRecord, StoredBinding } from "@onramp/registry";
import type { Bus } from "./bus.js";

export const SUBJECT_HEARTBEAT = "onramp.v1.heartbeat";
export const SUBJECT_POOL = "onramp.v1.pool";
export const SUBJECT_SNAPSHOT = "onramp.v1.snapshot";
export const SUBJECT_STATUS = "onramp.v1.status";

/** What the edge holding a member's agent session says about it (not part of the registry record). */
export interface MemberStatus {
  /** The binding's registry key and revision. */
  readonly key: string;
  readonly revision: number;
  readonly healthy: boolean;
  /** Requests in flight on the member's agent session. */
  readonly load: number;
  readonly detail: string;
}

export interface GossipOptions {
  bus: Bus;
  edgeId: string;
  region: string;
  /** host:port where other edges reach this one. */
  advertise: string;
  /** How often this edge says it is alive, in ms. Default 1 s. */
  heartbeatIntervalMs?: number;
  /**
   * An edge not heard from for this long is dead, in ms. Default 2.5 s: two and a half missed
   * heartbeats, so a dead edge's members leave every pool within 3 s of its death.
   */
  deadAfterMs?: number;
  /** How long to wait for a snapshot reply, in ms. Default 2 s. */
  snapshotTimeoutMs?: number;
  /** This edge's own bindings, as its view holds them. */
  ownBindings(): StoredBinding[];
  /** What this edge's view holds of another edge, to compare with its heartbeat. */
  digestOf(edge: string): string;
  /** The status of this edge's pooled members, published with every heartbeat. */
  ownStatuses?(): MemberStatus[];
  handlers: GossipHandlers;
  now?: () => number;
}

export interface GossipHandlers {
  /** A peer announced a binding or its removal. */
  delta(delta: { edge: string; key: string; revision: number; binding: BindingRecord | undefined }): void;
  /** A peer's full listing, after its digest differed from ours. */
  snapshot(edge: string, bindings: StoredBinding[], revision: number): void;
  /** A peer said how its members are (health changes at once, load every heartbeat). */
  status?(edge: string, statuses: MemberStatus[]): void;
  /** A peer was heard from for the first time, or again after it was dead. */
  peerUp(peer: Peer): void;
  /** A peer stopped heartbeating (or said it is leaving). */
  peerDown(edge: string): void;
  /** A snapshot request failed (logged by the caller). */
  error?(error: Error): void;
}

export interface Peer {
  readonly id: string;
  readonly region: string;
  readonly advertise: string;
  lastSeen: number;
  alive: boolean;
}

/**
 * Edge-to-edge gossip over the bus: heartbeats with a digest of the sender's bindings, pool
 * deltas the moment a binding changes, and snapshots on request when a digest disagrees, so a
 * missed message heals within a heartbeat. Also decides liveness: a peer silent for
 * `deadAfterMs` is dead — but only while this edge hears its own heartbeats come back, since
 * silence heard through a broken or hung connection says nothing about the peer.
 */
export class Gossip {
  private readonly options: GossipOptions & { heartbeatIntervalMs: number; deadAfterMs: number; snapshotTimeoutMs: number; now: () => number };
  private readonly peers = new Map<string, Peer>();
  private readonly unsubscribe: Array<() => void> = [];
  private readonly snapshotsInFlight = new Set<string>();
  /** When this edge last heard its own heartbeat come back: proof that the bus delivers to it. */
  private lastEcho = 0;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private checkTimer: NodeJS.Timeout | undefined;
  private seq = 0n;

  constructor(options: GossipOptions) {
    const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 1000;
    const deadAfterMs = options.deadAfterMs ?? 2500;
    if (!Number.isInteger(heartbeatIntervalMs) || heartbeatIntervalMs < 10) throw bad("heartbeatIntervalMs", `must be an integer ≥ 10, got ${heartbeatIntervalMs}`);
    if (!Number.isInteger(deadAfterMs) || deadAfterMs <= heartbeatIntervalMs) {
      throw bad("deadAfterMs", `must be an integer above the heartbeat interval (${heartbeatIntervalMs} ms), got ${deadAfterMs}`);
    }
    this.options = { ...options, heartbeatIntervalMs, deadAfterMs, snapshotTimeoutMs: options.snapshotTimeoutMs ?? 2000, now: options.now ?? Date.now };
  }

  start(): void {
    const { bus, edgeId } = this.options;
    this.unsubscribe.push(
      bus.subscribe(SUBJECT_HEARTBEAT, (m) => this.onHeartbeat(fromBinary(EdgeHeartbeatSchema, m.data))),
      bus.subscribe(SUBJECT_POOL, (m) => this.onDelta(fromBinary(PoolDeltaSchema, m.data))),
      bus.subscribe(SUBJECT_STATUS, (m) => this.onStatus(fromBinary(MemberStatusUpdateSchema, m.data))),
      bus.subscribe(`${SUBJECT_SNAPSHOT}.${edgeId}`, (m) => m.respond(toBinary(BindingSnapshotSchema, this.ownSnapshot()))),
      bus.onStatus((s) => {
        if (s.kind === "connected") {
          // Silence while we were cut off proves nothing: give every peer a fresh deadline.
          const now = this.options.now();
          for (const p of this.peers.values()) p.lastSeen = now;
          this.heartbeat();
        } else {
          // Without the bus this edge cannot judge liveness; the registry (lease expiry) decides.
          for (const p of this.peers.values()) if (!p.alive) this.markAlive(p);
        }
      }),
    );
    this.heartbeat();
    this.heartbeatTimer = setInterval(() => this.heartbeat(), this.options.heartbeatIntervalMs);
    this.heartbeatTimer.unref();
    this.checkTimer = setInterval(() => this.checkPeers(), Math.max(10, Math.min(100, this.options.deadAfterMs / 10)));
    this.checkTimer.unref();
  }

  /** Live peers (not this edge). */
  livePeers(): Peer[] {
    return [...this.peers.values()].filter((p) => p.alive);
  }

  isAlive(edge: string): boolean {
    return this.peers.get(edge)?.alive ?? false;
  }

  /** Tells every peer at once that one of this edge's bindings appeared, changed or left. */
  announce(key: string, revision: number, binding: BindingRecord | undefined): void {
    const delta = create(PoolDeltaSchema, binding ? { edgeId: this.options.edgeId, binding: toMesh({ key, revision, binding }) } : { edgeId: this.options.edgeId, removedKey: key, removedRevision: BigInt(revision) });
    this.options.bus.publish(SUBJECT_POOL, toBinary(PoolDeltaSchema, delta));
  }

  /** Tells every peer how some of this edge's members are (a health change, say). */
  publishStatus(statuses: readonly MemberStatus[]): void {
    if (statuses.length === 0 || !this.options.bus.connected) return;
    const update = create(MemberStatusUpdateSchema, {
      edgeId: this.options.edgeId,
      members: statuses.map((s) => ({ key: s.key, revision: BigInt(s.revision), healthy: s.healthy, load: s.load, detail: s.detail })),
    });
    this.options.bus.publish(SUBJECT_STATUS, toBinary(MemberStatusUpdateSchema, update));
  }

  /** Says goodbye (peers drop this edge's members at once) and stops. */
  async close(): Promise<void> {
    clearInterval(this.heartbeatTimer);
    clearInterval(this.checkTimer);
    this.publishHeartbeat(true);
    for (const u of this.unsubscribe.splice(0)) u();
  }

  private heartbeat(): void {
    this.publishHeartbeat(false);
  }

  private publishHeartbeat(leaving: boolean): void {
    const { bus, edgeId, region, advertise } = this.options;
    if (!bus.connected) return;
    const own = this.options.ownBindings();
    const hb = create(EdgeHeartbeatSchema, { edgeId, region, advertise, seq: ++this.seq, digest: this.options.digestOf(edgeId), bindings: own.length, leaving });
    bus.publish(SUBJECT_HEARTBEAT, toBinary(EdgeHeartbeatSchema, hb));
    if (!leaving && this.options.ownStatuses) this.publishStatus(this.options.ownStatuses());
  }

  private onHeartbeat(hb: EdgeHeartbeat): void {
    const now = this.options.now();
    if (hb.edgeId === this.options.edgeId) {
      // Deaf until now (a hung server, a partition): what we missed proves nothing about peers.
      if (now - this.lastEcho > this.options.deadAfterMs) for (const p of this.peers.values()) p.lastSeen = now;
      this.lastEcho = now;
      return;
    }
    if (hb.leaving) {
      const peer = this.peers.get(hb.edgeId);
      if (peer?.alive) this.markDead(peer);
      return;
    }
    let peer = this.peers.get(hb.edgeId);
    if (!peer || peer.advertise !== hb.advertise || peer.region !== hb.region) {
      peer = { id: hb.edgeId, region: hb.region, advertise: hb.advertise, lastSeen: now, alive: false };
      this.peers.set(hb.edgeId, peer);
    }
    peer.lastSeen = now;
    if (!peer.alive) this.markAlive(peer);
    if (hb.digest !== this.options.digestOf(hb.edgeId)) void this.requestSnapshot(hb.edgeId);
  }

  private onDelta(delta: PoolDelta): void {
    if (delta.edgeId === this.options.edgeId) return;
    if (delta.binding) {
      const b = fromMesh(delta.binding);
      this.options.handlers.delta({ edge: delta.edgeId, key: b.key, revision: b.revision, binding: b.binding });
    } else if (delta.removedKey) {
      this.options.handlers.delta({ edge: delta.edgeId, key: delta.removedKey, revision: Number(delta.removedRevision), binding: undefined });
    }
  }

  private onStatus(update: MemberStatusUpdate): void {
    if (update.edgeId === this.options.edgeId || !this.options.handlers.status) return;
    const statuses = update.members.map((m) => ({ key: m.key, revision: Number(m.revision), healthy: m.healthy, load: m.load, detail: m.detail }));
    this.options.handlers.status(update.edgeId, statuses);
  }

  private async requestSnapshot(edge: string): Promise<void> {
    if (this.snapshotsInFlight.has(edge)) return;
    this.snapshotsInFlight.add(edge);
    try {
      const reply = await this.options.bus.request(`${SUBJECT_SNAPSHOT}.${edge}`, new Uint8Array(0), this.options.snapshotTimeoutMs);
      const snapshot = fromBinary(BindingSnapshotSchema, reply);
      this.options.handlers.snapshot(edge, snapshot.bindings.map(fromMesh), Number(snapshot.revision));
    } catch (err) {
      this.options.handlers.error?.(OnrampError.from(err, ErrorCode.Internal, `snapshot from edge ${edge} failed`));
    } finally {
      this.snapshotsInFlight.delete(edge);
    }
  }

  private ownSnapshot(): BindingSnapshot {
    const own = this.options.ownBindings();
    const revision = own.reduce((max, b) => Math.max(max, b.revision), 0);
    return create(BindingSnapshotSchema, { edgeId: this.options.edgeId, revision: BigInt(revision), bindings: own.map(toMesh) });
  }

  private checkPeers(): void {
    const now = this.options.now();
    // Judge peers only while the bus demonstrably delivers to this edge: its own heartbeat came
    // back recently. A hung server or a cut route silences everyone at once; that is not death.
    if (!this.options.bus.connected || now - this.lastEcho > this.options.deadAfterMs) return;
    for (const peer of this.peers.values()) {
      if (peer.alive && now - peer.lastSeen > this.options.deadAfterMs) this.markDead(peer);
    }
  }

  private markAlive(peer: Peer): void {
    peer.alive = true;
    this.options.handlers.peerUp(peer);
  }

  private markDead(peer: Peer): void {
    peer.alive = false;
    this.options.handlers.peerDown(peer.id);
  }
}

export function toMesh(b: StoredBinding): MeshBinding {
  const r = b.binding;
  return create(MeshBindingSchema, {
    key: b.key,
    revision: BigInt(b.revision),
    url: r.url,
    host: r.host,
    pooling: r.pooling,
    trafficPolicy: r.traffic_policy,
    policyHash: r.policy_hash,
    edge: r.edge,
    region: r.region,
    agentId: r.agent_id,
    sessionId: r.session_id,
    bindId: r.bind_id,
    upstream: r.upstream,
    weight: r.weight ?? 0,
    group: r.group ?? "",
  });
}

export function fromMesh(m: MeshBinding): StoredBinding {
  return {
    key: m.key,
    revision: Number(m.revision),
    binding: {
      url: m.url,
      host: m.host,
      pooling: m.pooling,
      traffic_policy: m.trafficPolicy,
      policy_hash: m.policyHash,
      edge: m.edge,
      region: m.region,
      agent_id: m.agentId,
      session_id: m.sessionId,
      bind_id: m.bindId,
      upstream: m.upstream,
      bound_at: "",
      ...(m.weight > 0 ? { weight: m.weight } : {}),
      ...(m.group ? { group: m.group } : {}),
    },
  };
}

function bad(field: string, why: string): OnrampError {
  return new OnrampError(ErrorCode.InvalidArgument, `gossip option ${field}: ${why}`);
}

