import { type OutlierOptions, type ResolvedOutlierOptions, resolveOutlierOptions } from "./options.js";

/**
 * How one request to a member ended, as the edge saw it. `5xx`: the upstream answered with a
 * server error; `reset`: the connection or stream failed; `timeout`: no response in time.
 */
export type RequestResult = "success" | "5xx" | "reset" | "timeout";

/** A member currently kept out of the pool, for the admin API. */
export interface Ejection {
  readonly id: string;
  /** Time (ms, the caller's clock) the member is re-admitted. */
  readonly until: number;
  /** How many times the member has been ejected, after decay; 1 for a first ejection. */
  readonly times: number;
}

interface MemberRecord {
  consecutiveFailures: number;
  ejectedUntil: number | undefined;
  /** Ejections that still count towards the next one's length; decays while the member behaves. */
  times: number;
  /** Start of the current decay interval: the time the member was last re-admitted, moved on per decayed ejection. */
  decayFrom: number;
}

/**
 * Passive health checking (Envoy's outlier detection, consecutive-failure flavour): members that
 * fail request after request are ejected for a while, longer each time, even when their own
 * health check still passes. Pure logic: results and times are handed in, re-admission happens
 * lazily when a later call passes a `now` past the ejection's end.
 */
export class OutlierDetector {
  private readonly records = new Map<string, MemberRecord>();
  private readonly options: ResolvedOutlierOptions;
  /** Ejections needed to reach maxEjectionMs; counting further would only slow decay. */
  private readonly saturatingTimes: number;

  constructor(options: OutlierOptions = {}) {
    this.options = resolveOutlierOptions(options);
    const { baseEjectionMs, maxEjectionMs } = this.options;
    this.saturatingTimes = Math.ceil(Math.log2(maxEjectionMs / baseEjectionMs)) + 1;
  }

  /** Starts tracking a member; a member already tracked keeps its history. */
  add(id: string): void {
    if (!this.records.has(id)) this.records.set(id, { consecutiveFailures: 0, ejectedUntil: undefined, times: 0, decayFrom: 0 });
  }

  remove(id: string): boolean {
    return this.records.delete(id);
  }

  /**
   * Records one request's result; returns true when it got the member ejected. Results for a
   * member already ejected (requests that were in flight, or picked in panic) are ignored: the
   * member is out already, and they must not stretch its ejection.
   */
  report(id: string, result: RequestResult, now: number): boolean {
    const record = this.records.get(id);
    if (!record) return false;
    this.settle(record, now);
    if (record.ejectedUntil !== undefined) return false;
    if (result === "success") {
      record.consecutiveFailures = 0;
      return false;
    }
    record.consecutiveFailures++;
    // A member held back by maxEjectionPercent keeps its count, so the next failure after a slot
    // frees up ejects it.
    if (record.consecutiveFailures < this.options.consecutiveFailures || !this.mayEjectAnother(now)) return false;
    record.times = Math.min(record.times + 1, this.saturatingTimes);
    record.ejectedUntil = now + this.ejectionMs(record.times);
    record.consecutiveFailures = 0;
    return true;
  }

  isEjected(id: string, now: number): boolean {
    return this.ejectedUntil(id, now) !== undefined;
  }

  /** When the member is re-admitted, or undefined if it is not ejected (or not tracked). */
  ejectedUntil(id: string, now: number): number | undefined {
    const record = this.records.get(id);
    if (!record) return undefined;
    this.settle(record, now);
    return record.ejectedUntil;
  }

  /** Members ejected at `now`, in the order they were added. */
  ejections(now: number): Ejection[] {
    const ejections: Ejection[] = [];
    for (const [id, record] of this.records) {
      this.settle(record, now);
      if (record.ejectedUntil !== undefined) ejections.push({ id, until: record.ejectedUntil, times: record.times });
    }
    return ejections;
  }

  /** base × 2^(times − 1), capped at maxEjectionMs. */
  private ejectionMs(times: number): number {
    const { baseEjectionMs, maxEjectionMs } = this.options;
    return Math.min(maxEjectionMs, baseEjectionMs * 2 ** (times - 1));
  }

  /**
   * At most maxEjectionPercent of members ejected, counting the one about to be; but one may
   * always be ejected when there are two or more, or a 2- or 3-member pool could never eject any
   * with the default 50 % (Envoy's rule too).
   */
  private mayEjectAnother(now: number): boolean {
    let ejected = 0;
    for (const record of this.records.values()) {
      this.settle(record, now);
      if (record.ejectedUntil !== undefined) ejected++;
    }
    const members = this.records.size;
    if (ejected === 0 && members >= 2) return true;
    return (ejected + 1) * 100 <= this.options.maxEjectionPercent * members;
  }

  /**
   * Brings a record up to `now`: re-admits it when its ejection is over, and takes one ejection
   * off its count for each whole base interval it has stayed admitted since (Envoy decrements
   * once per detection interval), so a member that recovers for good is back to short ejections.
   */
  private settle(record: MemberRecord, now: number): void {
    if (record.ejectedUntil !== undefined) {
      if (now < record.ejectedUntil) return;
      record.decayFrom = record.ejectedUntil;
      record.ejectedUntil = undefined;
      record.consecutiveFailures = 0;
    }
    if (record.times === 0) return;
    const intervals = Math.floor((now - record.decayFrom) / this.options.baseEjectionMs);
    if (intervals <= 0) return;
    record.times = Math.max(0, record.times - intervals);
    record.decayFrom += intervals * this.options.baseEjectionMs;
  }
}
