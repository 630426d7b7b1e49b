import { type MemberInfo, TIERS, tierOf, weightOf } from "./member.js";
import { type MemberSnapshot, type MemberState, createMemberState, snapshotOf } from "./member-state.js";
import { type PoolOptions, type ResolvedPoolOptions, resolvePoolOptions } from "./options.js";
import { type Ejection, OutlierDetector, type RequestResult } from "./outlier-detector.js";
import type { PickResult } from "./pick-result.js";
import { chooseOfTwo } from "./two-choices.js";
import { chooseTier, tierHealth, tierLoadsInto } from "./tier-load.js";

type PerTier<T> = [T, T, T];

const NO_MEMBERS = { kind: "fail", reason: "no-members" } as const;
const NO_AVAILABLE_MEMBERS = { kind: "fail", reason: "no-available-members" } as const;
const MEMBERS_NOT_READY = { kind: "queue", reason: "members-not-ready" } as const;

/**
 * The members bound to one URL and the choice among them. Members are grouped in tiers by
 * distance (this edge, this region, elsewhere); traffic stays in the nearest tier while it is
 * healthy enough and spills to farther ones as it degrades (tier-load.ts). Within a tier,
 * weighted power of two choices on outstanding requests (two-choices.ts). A member is available
 * when healthy, not ejected by the outlier detector, not draining and ready; when too little of
 * the pool is healthy, health and ejection are ignored (panic) so the pool still serves.
 *
 * Pure logic: no timers, no I/O. Times are the caller's clock in ms, passed as `now`.
 */
export class Pool<M extends MemberInfo> {
  private readonly states = new Map<string, MemberState<M>>();
  private readonly options: ResolvedPoolOptions;
  private readonly outliers: OutlierDetector;
  private pickSeq = 0;
  /** Virtual time of the last pick's weighted turn (see Contender.turn). */
  private clock = 0;
  /**
   * Scratch space for pick(), reused so a pick allocates nothing but its result (picks run once
   * per request; the per-request garbage is what drives the edge's GC pauses). pick() never
   * yields, so one set per pool is enough.
   */
  private readonly candidates: PerTier<MemberState<M>[]> = [[], [], []];
  private readonly totalWeight: PerTier<number> = [0, 0, 0];
  private readonly usableWeight: PerTier<number> = [0, 0, 0];
  private readonly loads: number[] = [0, 0, 0];

  constructor(options: PoolOptions = {}) {
    this.options = resolvePoolOptions(options);
    this.outliers = new OutlierDetector(this.options.outlier);
  }

  get size(): number {
    return this.states.size;
  }

  /**
   * Adds a member, or updates the info of one already there (same id) while keeping its state:
   * health, readiness, draining, load, ejection history. Throws on an invalid weight.
   */
  add(member: M): void {
    const weight = weightOf(member);
    const tier = tierOf(member, this.options.localEdge, this.options.localRegion);
    const existing = this.states.get(member.id);
    if (existing) {
      existing.member = member;
      existing.weight = weight;
      existing.tier = tier;
      return;
    }
    this.states.set(member.id, createMemberState(member, weight, tier, this.clock));
    this.outliers.add(member.id);
  }

  /** Removes a member; requests it already carries finish or fail on their own. */
  remove(id: string): boolean {
    this.outliers.remove(id);
    return this.states.delete(id);
  }

  get(id: string): M | undefined {
    return this.states.get(id)?.member;
  }

  members(): M[] {
    return [...this.states.values()].map((s) => s.member);
  }

  /** Requests this edge has in flight on the member. */
  outstanding(id: string): number {
    return this.states.get(id)?.outstanding ?? 0;
  }

  /** Result of the member's active health check, as its agent reports it. Members start healthy. */
  setHealthy(id: string, healthy: boolean): void {
    const state = this.states.get(id);
    if (state) state.healthy = healthy;
  }

  /**
   * False while the member has no usable connection; picks queue rather than fail on such
   * members. True when this changed the member's state.
   */
  setReady(id: string, ready: boolean): boolean {
    const state = this.states.get(id);
    if (!state || state.ready === ready) return false;
    state.ready = ready;
    return true;
  }

  /** A draining member takes no new requests, not even in panic; those in flight finish. */
  setDraining(id: string, draining: boolean): void {
    const state = this.states.get(id);
    if (state) state.draining = draining;
  }

  /**
   * Requests other edges report in flight on the member (membership updates); added to this
   * edge's own count when comparing load. Throws on a negative or non-finite value.
   */
  setReportedLoad(id: string, load: number): void {
    if (!Number.isFinite(load) || load < 0) {
      throw new RangeError(`balancer member ${id}: reported load must be a finite number ≥ 0, got ${load}`);
    }
    const state = this.states.get(id);
    if (state) state.reportedLoad = load;
  }

  /** Feeds one request's result to the outlier detector; true when it got the member ejected. */
  report(id: string, result: RequestResult, now: number): boolean {
    return this.outliers.report(id, result, now);
  }

  isEjected(id: string, now: number): boolean {
    return this.outliers.isEjected(id, now);
  }

  /** Members ejected at `now`, with when they return and how many ejections count against them. */
  ejections(now: number): Ejection[] {
    return this.outliers.ejections(now);
  }

  /**
   * True when the healthy (healthy and not ejected) share of the pool's weight is below the
   * panic threshold. Draining and unready members count by their health: draining ones would
   * not be picked in panic anyway, and unready ones are expected back.
   */
  panicking(now: number): boolean {
    if (this.options.panicThreshold === 0 || this.states.size === 0) return false;
    let total = 0;
    let healthy = 0;
    for (const state of this.states.values()) {
      total += state.weight;
      if (state.healthy && !this.outliers.isEjected(state.member.id, now)) healthy += state.weight;
    }
    return healthy < this.options.panicThreshold * total;
  }

  /**
   * Picks a member and counts a request against it until `release()` is called. Members in
   * `exclude` (already tried for this request) are passed over, and count as unavailable in
   * their tier's health, so a retry spills to the next tier when the near one is used up.
   * In panic (decided for the whole pool, not per request) a tier's health is its share of
   * ready, non-draining weight, so locality still holds while health checks are ignored.
   * `now` defaults to Date.now(); pass it to evaluate ejections against another clock.
   */
  pick(exclude?: ReadonlySet<string>, now: number = Date.now()): PickResult<M> {
    if (this.states.size === 0) return NO_MEMBERS;
    const panic = this.panicking(now);
    const { candidates, totalWeight, usableWeight, loads } = this;
    for (const t of TIERS) {
      candidates[t].length = 0;
      totalWeight[t] = 0;
      usableWeight[t] = 0;
    }
    for (const state of this.states.values()) {
      totalWeight[state.tier] += state.weight;
      if (exclude?.has(state.member.id) || !this.usable(state, panic, now)) continue;
      usableWeight[state.tier] += state.weight;
      candidates[state.tier].push(state);
    }
    for (const t of TIERS) loads[t] = tierHealth(usableWeight[t], totalWeight[t], this.options.overprovisioning);
    const index = chooseTier(tierLoadsInto(loads, loads), this.options.random());
    if (index < 0) return this.waitOrFail(exclude, panic, now);
    const tier = TIERS[index]!;
    const chosen = chooseOfTwo(candidates[tier], this.clock, this.options.random);
    return { kind: "pick", member: chosen.member, release: this.claim(chosen), tier, panic };
  }

  /** Every member's state, in the order they were added. */
  snapshot(now: number): MemberSnapshot[] {
    return [...this.states.values()].map((s) => snapshotOf(s, this.outliers.ejectedUntil(s.member.id, now)));
  }

  /** Whether a pick may choose the member: ready, not draining, and in service. */
  private usable(state: MemberState<M>, panic: boolean, now: number): boolean {
    return state.ready && !state.draining && this.inService(state, panic, now);
  }

  /** Healthy and not ejected, or anything in panic. */
  private inService(state: MemberState<M>, panic: boolean, now: number): boolean {
    return panic || (state.healthy && !this.outliers.isEjected(state.member.id, now));
  }

  /** Nothing usable: queue if a member would be usable once ready, fail if none would be. */
  private waitOrFail(exclude: ReadonlySet<string> | undefined, panic: boolean, now: number): PickResult<M> {
    for (const state of this.states.values()) {
      if (state.ready || state.draining || exclude?.has(state.member.id)) continue;
      if (this.inService(state, panic, now)) return MEMBERS_NOT_READY;
    }
    return NO_AVAILABLE_MEMBERS;
  }

  /** Counts a request against the member and moves its weighted turn on; returns its release. */
  private claim(state: MemberState<M>): () => void {
    const turn = Math.max(state.turn, this.clock);
    this.clock = turn;
    state.turn = turn + 1 / state.weight;
    state.lastPicked = ++this.pickSeq;
    state.picks++;
    state.outstanding++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      state.outstanding--;
    };
  }
}
