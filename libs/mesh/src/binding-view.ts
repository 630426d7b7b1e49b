import { createHash } from "node:crypto";
import type { BindingRecord, StoredBinding } from "@onramp/registry";

/** A change in the set of bindings an edge should route to. */
export type ViewChange = { readonly kind: "up"; readonly key: string; readonly binding: BindingRecord } | { readonly kind: "down"; readonly key: string; readonly binding: BindingRecord };

interface Entry {
  revision: number;
  /** Undefined for a tombstone: deleted at `revision`. */
  binding: BindingRecord | undefined;
}

/**
 * Tombstones kept to reject late, older puts. 10,000 is far more than the binds in flight
 * between a delete and the slowest duplicate of its put (milliseconds apart).
 */
const TOMBSTONE_LIMIT = 10_000;

/**
 * The bindings of the whole mesh as one edge knows them, merged from two sources that may each
 * be late, repeat themselves or arrive out of order: the registry watch (etcd, durable) and
 * pool deltas and snapshots on the bus (fast). Every fact carries the registry revision of the
 * write behind it and the newest revision wins, so the order of arrival does not matter.
 *
 * Bindings of edges the gossip layer has declared dead are held back (reported `down`) until the
 * edge is alive again or the registry deletes them when its lease expires.
 */
export class BindingView {
  private readonly entries = new Map<string, Entry>();
  private readonly tombstones: string[] = [];
  private readonly deadEdges = new Set<string>();

  constructor(private readonly listener: (change: ViewChange) => void = () => undefined) {}

  /** A binding exists at `revision`. Ignored when the view already knows something as new. */
  put(key: string, revision: number, binding: BindingRecord): void {
    const entry = this.entries.get(key);
    if (entry && entry.revision >= revision) return;
    const before = entry?.binding;
    this.entries.set(key, { revision, binding });
    if (before && this.visible(before)) {
      if (sameMember(before, binding)) return;
      this.listener({ kind: "down", key, binding: before });
    }
    if (this.visible(binding)) this.listener({ kind: "up", key, binding });
  }

  /** The binding was deleted at `revision`, or is gone as of it. */
  remove(key: string, revision: number): void {
    const entry = this.entries.get(key);
    if (entry && entry.revision > revision) return;
    const before = entry?.binding;
    this.entries.set(key, { revision, binding: undefined });
    this.remember(key);
    if (before && this.visible(before)) this.listener({ kind: "down", key, binding: before });
  }

  /**
   * Replaces what the view knows with a full listing as of `revision` (a registry re-list), or,
   * with `edge`, everything it knows of one edge (that edge's snapshot on the bus). Entries the
   * listing lacks are removed unless the view learned of them after `revision`.
   */
  reset(bindings: readonly StoredBinding[], revision: number, edge?: string): void {
    const listed = new Set<string>();
    for (const b of bindings) {
      if (edge !== undefined && b.binding.edge !== edge) continue;
      listed.add(b.key);
      this.put(b.key, b.revision, b.binding);
    }
    for (const [key, entry] of [...this.entries]) {
      if (listed.has(key) || !entry.binding || entry.revision > revision) continue;
      if (edge !== undefined && entry.binding.edge !== edge) continue;
      this.remove(key, revision);
    }
  }

  /** Marks an edge dead (its bindings go down) or alive again (they come back). */
  setEdgeDead(edge: string, dead: boolean): void {
    if (dead === this.deadEdges.has(edge)) return;
    const affected = [...this.entries].filter(([, e]) => e.binding?.edge === edge);
    if (dead) {
      this.deadEdges.add(edge);
      for (const [key, e] of affected) this.listener({ kind: "down", key, binding: e.binding! });
    } else {
      this.deadEdges.delete(edge);
      for (const [key, e] of affected) this.listener({ kind: "up", key, binding: e.binding! });
    }
  }

  isEdgeDead(edge: string): boolean {
    return this.deadEdges.has(edge);
  }

  /** The live bindings of one edge, with their revisions (what that edge's snapshot would say). */
  bindingsOf(edge: string): StoredBinding[] {
    const out: StoredBinding[] = [];
    for (const [key, e] of this.entries) if (e.binding?.edge === edge) out.push({ key, revision: e.revision, binding: e.binding });
    return out;
  }

  /** The binding at `key`, if live. */
  get(key: string): BindingRecord | undefined {
    return this.entries.get(key)?.binding;
  }

  /** The revision of the live binding at `key`, if any. */
  revisionOf(key: string): number | undefined {
    const entry = this.entries.get(key);
    return entry?.binding ? entry.revision : undefined;
  }

  /** Digest of an edge's live bindings (keys and revisions): equal digests, equal views. */
  digest(edge: string): string {
    return digestOf(this.bindingsOf(edge));
  }

  private visible(binding: BindingRecord): boolean {
    return !this.deadEdges.has(binding.edge);
  }

  private remember(key: string): void {
    this.tombstones.push(key);
    while (this.tombstones.length > TOMBSTONE_LIMIT) {
      const old = this.tombstones.shift()!;
      if (this.entries.get(old)?.binding === undefined) this.entries.delete(old);
    }
  }
}

/** Order-independent digest of bindings: 16 hex chars of SHA-256 over sorted `key@revision`. */
export function digestOf(bindings: readonly { key: string; revision: number }[]): string {
  const lines = bindings.map((b) => `${b.key}@${b.revision}`).sort();
  return createHash("sha256").update(lines.join("\n")).digest("hex").slice(0, 16);
}

/** The same member on the same session: a rewrite that routing need not hear about. */
function sameMember(a: BindingRecord, b: BindingRecord): boolean {
  return a.session_id === b.session_id && a.bind_id === b.bind_id && a.policy_hash === b.policy_hash && a.pooling === b.pooling && (a.weight ?? 1) === (b.weight ?? 1);
}
