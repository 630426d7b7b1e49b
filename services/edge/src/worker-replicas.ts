import type { BindingRecord } from "@onramp/registry";

/**
 * One agent bind reaches the workers of `onramp edge --workers N` over a session with each, so
 * the mesh holds one binding per worker for it, all with the same `group` (the edge they are
 * workers of) and bind id. They are one replica, not N: a pool counts it once, and a worker
 * serves it over its own session when it has one, else through the group's first worker.
 *
 * This keeps the bindings of each replica that is up and says which one is the member.
 */
export class WorkerReplicas {
  /** `group\nbind id` → the binding keys up, with their records. */
  private readonly replicas = new Map<string, Map<string, BindingRecord>>();
  /** `group\nbind id` → the key that is the member now. */
  private readonly chosen = new Map<string, string>();

  /** `hasSession(binding)`: whether the session a binding of this edge names is still here. */
  constructor(
    private readonly edgeId: string,
    private readonly hasSession: (binding: BindingRecord) => boolean,
  ) {}

  /** The replica a binding is one way to reach; undefined for a binding of an edge that is not a worker. */
  static replicaOf(binding: BindingRecord): string | undefined {
    return binding.group ? `${binding.group}\n${binding.bind_id}` : undefined;
  }

  /** Records that `key` is up (`binding`) or down (undefined); returns the member's key before and after. */
  update(replica: string, key: string, binding: BindingRecord | undefined): { before: string | undefined; after: string | undefined } {
    let keys = this.replicas.get(replica);
    if (binding) {
      if (!keys) this.replicas.set(replica, (keys = new Map()));
      keys.set(key, binding);
    } else {
      keys?.delete(key);
      if (keys?.size === 0) this.replicas.delete(replica);
    }
    const before = this.chosen.get(replica);
    const after = keys && keys.size > 0 ? this.choose(keys) : undefined;
    if (after === undefined) this.chosen.delete(replica);
    else this.chosen.set(replica, after);
    return { before, after };
  }

  /** The binding of `key` while it is up. */
  bindingOf(replica: string, key: string): BindingRecord | undefined {
    return this.replicas.get(replica)?.get(key);
  }

  /**
   * This worker's own session first; then the group's first worker (its id is the group's); then
   * any, by key. A binding of this worker whose session is gone (it is being released) comes last.
   */
  private choose(keys: Map<string, BindingRecord>): string {
    let first: string | undefined;
    let groupOwn: string | undefined;
    let stale: string | undefined;
    for (const [key, binding] of keys) {
      if (binding.edge === this.edgeId) {
        if (this.hasSession(binding)) return key;
        stale = key;
        continue;
      }
      if (binding.edge === binding.group && groupOwn === undefined) groupOwn = key;
      if (first === undefined || key < first) first = key;
    }
    return groupOwn ?? first ?? stale!;
  }
}
