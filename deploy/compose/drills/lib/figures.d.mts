import type { Sample } from "./load.d.mts";

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
  /** From the event to the start of the first failed request (negative: sent before it); undefined when none failed. */
  firstFailureStartMs: number | undefined;
  /** Up to three distinct failures, kind and message, e.g. `503 ERR_ONRAMP_ENDPOINT_OFFLINE: the endpoint … is offline: …`. */
  examples: string[];
}

export interface DrillResult {
  name: string;
  goal: string;
  /** undefined: the drill did not get as far as measuring (its setup failed). */
  figures?: DrillFigures;
  /** What fell short of the goal; empty when it was met. */
  violations: string[];
}

export function measure(samples: readonly Sample[], eventMs: number, retried: number): DrillFigures;
/** GETs `url` and reads its body; rejects after `ms` (a timer that keeps Node running until then). */
export function getText(url: string, ms: number): Promise<{ status: number; text: string }>;
export function retriedAt(admin: string): Promise<number>;
export function renderTable(results: readonly DrillResult[]): string;
export function noneFailed(f: DrillFigures): string[];
export function atMostOnePerMille(f: DrillFigures): string[];
export function noneWaitsOver(limitMs: number): (f: DrillFigures) => string[];
