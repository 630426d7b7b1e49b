import type { MemberStatus } from "@onramp/mesh";

/**
 * How the members of the mesh's pools are, as the edges holding their agent sessions report it:
 * this edge's own members from their agents' health checks, the others from the status updates
 * on the bus. Kept apart from the registry's records because it changes often and is nobody's
 * durable truth; a status applies only to the binding revision it was reported for.
 */
export class MemberStatuses {
  private readonly byKey = new Map<string, MemberStatus>();

  /** Records a status; true when the member's health changed (or was not known before). */
  set(status: MemberStatus): boolean {
    const before = this.byKey.get(status.key);
    if (before && before.revision > status.revision) return false;
    this.byKey.set(status.key, status);
    return !before || before.revision !== status.revision || before.healthy !== status.healthy;
  }

  /** The status of a binding at `revision`, if one was reported for that revision. */
  of(key: string, revision: number): MemberStatus | undefined {
    const status = this.byKey.get(key);
    return status?.revision === revision ? status : undefined;
  }

  /** Forgets a binding that is gone. */
  delete(key: string): void {
    this.byKey.delete(key);
  }
}
