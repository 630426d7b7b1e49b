import { HealthChecker, type HealthState } from "./health-check.js";
import type { HealthCheckSettings } from "./options.js";

/** An upstream changed health; `bindIds` are the agent's binds that forward to it. */
export interface HealthChange {
  upstream: string;
  bindIds: string[];
  state: HealthState;
}

/**
 * The health of the agent's binds: one checker per distinct upstream (and Host header), shared by
 * every bind that forwards to it (two endpoints on localhost:3000 probe it once and change together). A checker
 * starts with the first of its binds and stops with the last. With no settings (checks disabled)
 * nothing is probed and every bind counts as healthy.
 */
export class BindHealth {
  private readonly checkers = new Map<string, { checker: HealthChecker; bindIds: Set<string> }>();
  /** bind id → the key of its checker (the upstream, and the Host header when one is set). */
  private readonly checkerOf = new Map<string, string>();
  private closed = false;

  constructor(
    private readonly settings: HealthCheckSettings | undefined,
    private readonly onChange: (change: HealthChange) => void,
  ) {}

  /** Checks `upstream` (an origin) for `bindId` from now on, sending `hostHeader` as Host when set. */
  track(bindId: string, upstream: string, hostHeader?: string): void {
    if (!this.settings || this.closed) return;
    const key = hostHeader === undefined ? upstream : `${upstream} ${hostHeader}`;
    this.checkerOf.set(bindId, key);
    let entry = this.checkers.get(key);
    if (!entry) {
      const bindIds = new Set<string>();
      const checker = new HealthChecker(upstream, this.settings, (state) => this.onChange({ upstream, bindIds: [...bindIds], state }), hostHeader);
      entry = { checker, bindIds };
      this.checkers.set(key, entry);
      checker.start();
    }
    entry.bindIds.add(bindId);
  }

  /** Stops checking for `bindId`; its upstream's checker stops when no other bind uses it. */
  untrack(bindId: string): void {
    const key = this.checkerOf.get(bindId);
    if (key === undefined) return;
    this.checkerOf.delete(bindId);
    const entry = this.checkers.get(key);
    entry?.bindIds.delete(bindId);
    if (entry && entry.bindIds.size === 0) {
      entry.checker.stop();
      this.checkers.delete(key);
    }
  }

  /** The bind's current health; undefined when it is not checked. */
  stateOf(bindId: string): HealthState | undefined {
    const key = this.checkerOf.get(bindId);
    return key === undefined ? undefined : this.checkers.get(key)?.checker.state;
  }

  /** Stops every checker; nothing is tracked or reported after this. */
  close(): void {
    this.closed = true;
    for (const { checker } of this.checkers.values()) checker.stop();
    this.checkers.clear();
    this.checkerOf.clear();
  }
}
