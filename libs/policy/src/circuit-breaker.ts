/**
 * The state machine behind the `circuit-breaker` action: closed → open when the error rate over a
 * rolling window crosses the threshold with enough volume; open → half-open after
 * `trippedDurationMs`, letting one probe through; the probe's result closes or re-opens it.
 * Time is passed in, never read, so tests drive it with a fake clock.
 */
export interface CircuitBreakerSettings {
  /** Fraction of requests that failed, 0–1, at or above which the breaker trips. */
  readonly errorThreshold: number;
  /** Requests the window must hold before the error rate counts. */
  readonly volumeThreshold: number;
  readonly windowMs: number;
  readonly trippedDurationMs: number;
  readonly numBuckets: number;
}

export type CircuitState = "closed" | "open" | "half-open";

export type Admission = { readonly admitted: true; readonly probe: boolean } | { readonly admitted: false; readonly retryAfterMs: number };

export class CircuitBreaker {
  private readonly bucketMs: number;
  private readonly totals: number[];
  private readonly errors: number[];
  private readonly stamps: number[];
  private state: CircuitState = "closed";
  private openedAt = 0;
  private probeStartedAt: number | undefined;

  constructor(private readonly settings: CircuitBreakerSettings) {
    this.bucketMs = Math.max(1, Math.floor(settings.windowMs / settings.numBuckets));
    this.totals = new Array<number>(settings.numBuckets).fill(0);
    this.errors = new Array<number>(settings.numBuckets).fill(0);
    this.stamps = new Array<number>(settings.numBuckets).fill(-1);
  }

  stateAt(nowMs: number): CircuitState {
    if (this.state === "open" && nowMs - this.openedAt >= this.settings.trippedDurationMs) return "half-open";
    return this.state;
  }

  /** Decides whether a request may go to the upstream now. */
  admit(nowMs: number): Admission {
    const state = this.stateAt(nowMs);
    if (state === "closed") return { admitted: true, probe: false };
    if (state === "open") return { admitted: false, retryAfterMs: this.openedAt + this.settings.trippedDurationMs - nowMs };
    // Half-open: one probe at a time. A probe that never reports (the edge lost track of it) is
    // given up after another tripped duration, so the breaker cannot stay stuck.
    if (this.probeStartedAt !== undefined && nowMs - this.probeStartedAt < this.settings.trippedDurationMs) {
      return { admitted: false, retryAfterMs: this.probeStartedAt + this.settings.trippedDurationMs - nowMs };
    }
    this.state = "half-open";
    this.probeStartedAt = nowMs;
    return { admitted: true, probe: true };
  }

  /** Records the outcome of an admitted request. */
  record(nowMs: number, failed: boolean, probe: boolean): void {
    if (probe) {
      this.probeStartedAt = undefined;
      if (failed) this.trip(nowMs);
      else this.reset();
      return;
    }
    if (this.state !== "closed") return; // a straggler from before the trip
    const slot = Math.floor(nowMs / this.bucketMs);
    const i = slot % this.settings.numBuckets;
    if (this.stamps[i] !== slot) {
      this.stamps[i] = slot;
      this.totals[i] = 0;
      this.errors[i] = 0;
    }
    this.totals[i] = (this.totals[i] ?? 0) + 1;
    if (failed) this.errors[i] = (this.errors[i] ?? 0) + 1;
    const { total, errors } = this.window(slot);
    if (total >= this.settings.volumeThreshold && errors / total >= this.settings.errorThreshold) this.trip(nowMs);
  }

  private window(currentSlot: number): { total: number; errors: number } {
    let total = 0;
    let errors = 0;
    for (let i = 0; i < this.settings.numBuckets; i++) {
      const stamp = this.stamps[i] ?? -1;
      if (stamp >= 0 && currentSlot - stamp < this.settings.numBuckets) {
        total += this.totals[i] ?? 0;
        errors += this.errors[i] ?? 0;
      }
    }
    return { total, errors };
  }

  private trip(nowMs: number): void {
    this.state = "open";
    this.openedAt = nowMs;
  }

  private reset(): void {
    this.state = "closed";
    this.stamps.fill(-1);
  }
}
