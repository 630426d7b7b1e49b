import { probeHttp, probeTcp, type ProbeResult } from "./health-probe.js";
import type { HealthCheckSettings } from "./options.js";

/** An upstream's health as the checker last decided it, and the probe result that decided it. */
export interface HealthState {
  healthy: boolean;
  detail: string;
}

/**
 * Probes one upstream every `intervalMs` (an HTTP GET of `path`, or a TCP connect when there is
 * none) and decides its health with hysteresis: `unhealthyThreshold` failures in a row make it
 * unhealthy, `healthyThreshold` passes in a row healthy again, so a single lost probe or lucky
 * answer moves no traffic. It starts healthy, as the edges assume of a new bind, so a bind never
 * waits for a first verdict; that first probe runs at once.
 */
export class HealthChecker {
  private current: HealthState = { healthy: true, detail: "not checked yet" };
  /** Results in a row that disagree with `current`. */
  private streak = 0;
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  private readonly stopper = new AbortController();
  private readonly origin: URL;

  constructor(
    /** The upstream's origin, e.g. http://localhost:3000. */
    readonly upstream: string,
    private readonly settings: HealthCheckSettings,
    private readonly onChange: (state: HealthState) => void,
    /** The Host header of HTTP probes, when the binds set one (`--host-header`). */
    private readonly hostHeader?: string,
  ) {
    this.origin = new URL(upstream);
  }

  get state(): HealthState {
    return this.current;
  }

  /** Runs the first probe now, then one every interval until `stop()`. */
  start(): void {
    if (this.started || this.stopper.signal.aborted) return;
    this.started = true;
    void this.probe();
  }

  /** Stops probing and aborts a probe in flight; no change is reported after this. */
  stop(): void {
    this.stopper.abort();
    clearTimeout(this.timer);
  }

  private async probe(): Promise<void> {
    const { path, intervalMs, timeoutMs } = this.settings;
    const signal = this.stopper.signal;
    const startedAt = performance.now();
    const result = path === undefined ? await probeTcp(this.origin, timeoutMs, signal) : await probeHttp(this.origin, path, timeoutMs, signal, this.hostHeader);
    if (signal.aborted) return;
    // Interval from start to start, but the next probe never starts before this one ended, so a
    // slow upstream is never probed twice at once. Unref'd: checks alone keep no process alive.
    const wait = Math.max(0, intervalMs - (performance.now() - startedAt));
    this.timer = setTimeout(() => void this.probe(), wait).unref();
    this.record(result);
  }

  private record(result: ProbeResult): void {
    if (result.ok === this.current.healthy) {
      this.streak = 0;
      return;
    }
    this.streak++;
    if (this.streak < (result.ok ? this.settings.healthyThreshold : this.settings.unhealthyThreshold)) return;
    this.streak = 0;
    this.current = { healthy: result.ok, detail: result.detail };
    this.onChange(this.current);
  }
}
