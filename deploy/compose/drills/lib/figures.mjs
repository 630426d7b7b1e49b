// A drill's figures from its load's samples, and the summary table: shared by the failover drills
// of e2e/ and the compose drills. docs/failover.md defines each column. Types in figures.d.mts.
import { cpus } from "node:os";
import { percentile } from "./load.mjs";

const BUCKET_MS = 100;
const EVENT_WINDOW_MS = 5_000;
const BASELINE_FROM_MS = 1_000;
/** Distinct failures a drill's figures quote, message included. */
const MAX_EXAMPLES = 3;

/**
 * Figures of one drill's samples; `eventMs` is when the drill struck, in ms from the start of the load.
 * @param {readonly import("./load.d.mts").Sample[]} samples @param {number} eventMs @param {number} retried
 * @returns {import("./figures.d.mts").DrillFigures}
 */
export function measure(samples, eventMs, retried) {
  // Only requests answered before the event: one in flight when it struck belongs to the event.
  const before = samples.filter((s) => s.ok && s.startMs + s.latencyMs < eventMs);
  const steady = before.filter((s) => s.startMs >= BASELINE_FROM_MS);
  const baselineP99Ms = percentile((steady.length >= 100 ? steady : before).map((s) => s.latencyMs), 99);
  const slowMs = Math.max(3 * baselineP99Ms, baselineP99Ms + 100);
  let lastBadBucket = -1;
  let lastFailureMs;
  let firstFailureStartMs;
  const errors = {};
  const examples = new Set();
  for (const s of samples) {
    const endMs = s.startMs + s.latencyMs - eventMs;
    if (!s.ok) {
      errors[s.error] = (errors[s.error] ?? 0) + 1;
      if (endMs >= 0) lastFailureMs = Math.max(lastFailureMs ?? 0, endMs);
      firstFailureStartMs ??= s.startMs - eventMs;
      if (examples.size < MAX_EXAMPLES) examples.add(s.detail ? `${s.error}: ${s.detail.replace(/\s+/g, " ")}` : s.error);
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
    firstFailureStartMs,
    examples: [...examples],
  };
}

/**
 * GETs `url` and reads its body, rejecting after `ms`. The deadline is a timer of its own, which
 * keeps Node running: AbortSignal.timeout's is unref'd, and through docker-proxy to a container port
 * nothing listens on yet, the connection is accepted and then neither answered nor closed, so with
 * nothing else pending Node exited with 13 ("unsettled top-level await") instead of timing out.
 * @param {string} url @param {number} ms @returns {Promise<{ status: number, text: string }>}
 */
export async function getText(url, ms) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new DOMException(`${url}: no answer within ${ms} ms`, "TimeoutError")), ms);
  try {
    const res = await fetch(url, { signal: abort.signal });
    return { status: res.status, text: await res.text() };
  } finally {
    clearTimeout(timer);
  }
}

/** Sum of `onramp_edge_retries_total{result="retried"}` over every reason, from an edge's admin `/metrics`. @param {string} admin host:port */
export async function retriedAt(admin) {
  const { text } = await getText(`http://${admin}/metrics`, 3_000);
  let total = 0;
  for (const line of text.split("\n")) {
    const m = /^onramp_edge_retries_total\{([^}]*)\}\s+(\S+)/.exec(line);
    if (m && /(^|,)result="retried"/.test(m[1])) total += Number(m[2]);
  }
  return total;
}

/** The summary table, in markdown, with the machine it ran on. @param {readonly import("./figures.d.mts").DrillResult[]} results */
export function renderTable(results) {
  const ms = (x) => (x === undefined || x === null || Number.isNaN(x) ? "—" : String(Math.round(x)));
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

/** Goals shared by both sets of drills; each returns what falls short, empty when met. @param {import("./figures.d.mts").DrillFigures} f */
export const noneFailed = (f) => (f.failed === 0 ? [] : [`${f.failed} of ${f.sent} failed`]);
/** @param {import("./figures.d.mts").DrillFigures} f */
export const atMostOnePerMille = (f) => (f.failed * 1000 <= f.sent ? [] : [`${f.failed} of ${f.sent} failed (${((100 * f.failed) / f.sent).toFixed(2)}%)`]);
/** @param {number} limitMs */
export const noneWaitsOver = (limitMs) => (/** @type {import("./figures.d.mts").DrillFigures} */ f) => (f.maxMs <= limitMs ? [] : [`a request waited ${Math.round(f.maxMs)} ms`]);
