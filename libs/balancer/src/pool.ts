/** What the balancer needs to know about a pool member; the edge attaches the rest. */
export interface MemberInfo {
  readonly id: string;
  /** Region of the edge the member is connected to; local members are preferred. */
  readonly region: string;
}

interface MemberState<M extends MemberInfo> {
  readonly member: M;
  outstanding: number;
  healthy: boolean;
  /** Pick sequence number of the last time this member was chosen; breaks ties fairly. */
  lastPicked: number;
}

export type FailReason = "no-members" | "no-healthy-members";

/** Result of a pick: never `undefined`, never a throw. */
export type PickResult<M> =
  | { readonly kind: "pick"; readonly member: M; readonly release: () => void }
  | { readonly kind: "fail"; readonly reason: FailReason };

export interface PoolOptions {
  /** Region of the edge that picks; members there are preferred. */
  localRegion?: string;
  /** Source of randomness in [0, 1); injectable so tests are deterministic. */
  random?: () => number;
}

/**
 * The members bound to one URL and the choice among them: healthy members only, members in the
 * local region first, and within that set power-of-two-choices on outstanding requests. Ties go
 * to the member picked least recently, so an idle pool alternates instead of flipping coins.
 */
export class Pool<M extends MemberInfo> {
  private readonly states = new Map<string, MemberState<M>>();
  private readonly localRegion: string | undefined;
  private readonly random: () => number;
  private seq = 0;

  constructor(options: PoolOptions = {}) {
    this.localRegion = options.localRegion;
    this.random = options.random ?? Math.random;
  }

  get size(): number {
    return this.states.size;
  }

  add(member: M): void {
    this.states.set(member.id, { member, outstanding: 0, healthy: true, lastPicked: 0 });
  }

  /** Removes a member; requests it already carries finish or fail on their own. */
  remove(id: string): boolean {
    return this.states.delete(id);
  }

  get(id: string): M | undefined {
    return this.states.get(id)?.member;
  }

  members(): M[] {
    return [...this.states.values()].map((s) => s.member);
  }

  outstanding(id: string): number {
    return this.states.get(id)?.outstanding ?? 0;
  }

  setHealthy(id: string, healthy: boolean): void {
    const state = this.states.get(id);
    if (state) state.healthy = healthy;
  }

  /** Picks a member and counts a request against it until `release()` is called. */
  pick(exclude?: ReadonlySet<string>): PickResult<M> {
    if (this.states.size === 0) return { kind: "fail", reason: "no-members" };
    const candidates = this.candidates(exclude);
    if (candidates.length === 0) return { kind: "fail", reason: "no-healthy-members" };
    const chosen = candidates.length === 1 ? candidates[0]! : this.twoChoices(candidates);
    chosen.outstanding++;
    chosen.lastPicked = ++this.seq;
    let released = false;
    return {
      kind: "pick",
      member: chosen.member,
      release: () => {
        if (released) return;
        released = true;
        chosen.outstanding--;
      },
    };
  }

  private candidates(exclude: ReadonlySet<string> | undefined): MemberState<M>[] {
    const local: MemberState<M>[] = [];
    const remote: MemberState<M>[] = [];
    for (const state of this.states.values()) {
      if (!state.healthy || exclude?.has(state.member.id)) continue;
      if (this.localRegion === undefined || state.member.region === this.localRegion) local.push(state);
      else remote.push(state);
    }
    return local.length > 0 ? local : remote;
  }

  private twoChoices(candidates: MemberState<M>[]): MemberState<M> {
    const n = candidates.length;
    const i = Math.floor(this.random() * n);
    let j = Math.floor(this.random() * (n - 1));
    if (j >= i) j++;
    const a = candidates[i]!;
    const b = candidates[j]!;
    if (a.outstanding !== b.outstanding) return a.outstanding < b.outstanding ? a : b;
    return a.lastPicked <= b.lastPicked ? a : b;
  }
}
