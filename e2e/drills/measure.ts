import { cpus } from "node:os";
import { percentile, type Sample } from "../harness/load.js";

/** What one drill measured; the columns of the summary table (docs/failover.md defines each). */
export interface DrillFigures {
  sent: number;
  failed: number;
  /** Retries the receiving edge made during the drill (`onramp_edge_retries_total{result="retried"}`). */
  retried: number;
  /** p99 of the successful requests sent from 1 s into the run and answered before the event. */
  baselineP99Ms: number;
  /** A request slower than this counts as disrupted: max(3 × baseline p99, baseline p99 + 100 ms). */
  slowMs: number;
  /** From the event to the end of the last 100 ms bucket in which a failed or slow request ended; 0 when none did. */
  recoveryMs: number;
  /** From the event to the end of the last failed request; undefined when none failed after it. */
  lastFailureMs: number | undefined;
  /** p99 latency of every request (failed ones included) sent in [event, event + 5 s). */
  eventP99Ms: number;
  maxMs: number;
  /** Failures by kind, e.g. `502 ERR_ONRAMP_UPSTREAM_ERROR` or `timeout`. */
  errors: Record<string, number>;
}

const BUCKET_MS = 100;
const EVENT_WINDOW_MS = 5_000;
const BASELINE_FROM_MS = 1_000;

/** Figures of one drill's samples; `eventMs` is when the drill struck, in ms from the start of the load. */
export function measure(samples: readonly Sample[], eventMs: number, retried: number): DrillFigures {
  // Only requests answered before the event: one in flight when it struck belongs to the event.
  const before = samples.filter((s) => s.ok && s.startMs + s.latencyMs < eventMs);
  const steady = before.filter((s) => s.startMs >= BASELINE_FROM_MS);
  const baselineP99Ms = percentile((steady.length >= 100 ? steady : before).map((s) => s.latencyMs), 99);
  const slowMs = Math.max(3 * baselineP99Ms, baselineP99Ms + 100);
  let lastBadBucket = -1;
  let lastFailureMs: number | undefined;
  const errors: Record<string, number> = {};
  for (const s of samples) {
    const endMs = s.startMs + s.latencyMs - eventMs;
    if (!s.ok) {
      errors[s.error!] = (errors[s.error!] ?? 0) + 1;
      if (endMs >= 0) lastFailureMs = Math.max(lastFailureMs ?? 0, endMs);
    }
    if ((!s.ok || s.latencyMs > slowMs) && endMs >= 0) lastBadBucket = Math.max(lastBadBucket, Math.floor(endMs / BUCKET_MS));
  }
  const windowed = samples.filter((s) => s.startMs >= eventMs && s.startMs < eventMs + EVENT_WINDOW_MS);
  return {
    sent: samples.length,
    failed: samples.filter((s) => !s.ok).length,
    retried,
    baselineP99Ms,
    slowMs,
    recoveryMs: (lastBadBucket + 1) * BUCKET_MS,
    lastFailureMs,
    eventP99Ms: percentile(windowed.map((s) => s.latencyMs), 99),
    maxMs: Math.max(...samples.map((s) => s.latencyMs)),
    errors,
  };
}

/** Sum of `onramp_edge_retries_total{result="retried"}` over every reason, from an edge's admin `/metrics`. */
export async function retriedAt(admin: string): Promise<number> {
  const res = await fetch(`http://${admin}/metrics`, { signal: AbortSignal.timeout(3_000) });
  let total = 0;
  for (const line of (await res.text()).split("\n")) {
    const m = /^onramp_edge_retries_total\{([^}]*)\}\s+(\S+)/.exec(line);
    if (m && /(^|,)result="retried"/.test(m[1]!)) total += Number(m[2]);
  }
  return total;
}

export interface DrillResult {
  name: string;
  goal: string;
  /** undefined: the drill did not get as far as measuring (its setup failed). */
  figures?: DrillFigures;
  /** What fell short of the goal; empty when it was met. */
  violations: string[];
}

/** The summary table, in markdown, with the machine it ran on. */
export function renderTable(results: readonly DrillResult[]): string {
  const ms = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? "—" : String(Math.round(x)));
  const rows = results.map(({ name, goal, figures: f, violations }) => {
    const met = !f ? "not run" : violations.length === 0 ? "yes" : `**no**: ${violations.join("; ")}`;
    const errors = f ? Object.entries(f.errors).map(([k, n]) => `${k} ×${n}`).join(", ") || "—" : "—";
    return `| ${name} | ${goal} | ${f?.sent ?? "—"} | ${f?.failed ?? "—"} | ${f?.retried ?? "—"} | ${ms(f?.recoveryMs)} | ${ms(f?.eventP99Ms)} | ${ms(f?.maxMs)} | ${ms(f?.baselineP99Ms)} | ${met} | ${errors} |`;
  });
  return [
    `Failover drills: ${new Date().toISOString()}, ${cpus().length} cores, Node ${process.version}`,
    "",
    "| drill | goal | sent | failed | retried | recovery ms | p99 event ms | max ms | p99 before ms | goal met | failures |",
    "|---|---|--:|--:|--:|--:|--:|--:|--:|---|---|",
    ...rows,
    "",
  ].join("\n");
}
