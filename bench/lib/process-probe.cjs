// Preloaded into a process under test (NODE_OPTIONS="--require …/process-probe.cjs") to measure
// what it allocates, how long it pauses for GC and how late its event loop runs, over a window the
// harness opens and closes with SIGUSR2: the first signal starts, the second stops and writes
// $ONRAMP_BENCH_PROBE_DIR/<pid>.json (then the next signal starts a new window).
//
// Bytes allocated come from v8.GCProfiler: between two GCs the heap only grows by allocation, so
// allocated = Σ over GC events (used before this GC − used after the previous one), starting from
// the used size when the window opened, plus the tail (used now − used after the last GC).
// Idle until the first signal: nothing is recorded or enabled.
"use strict";
const { writeFileSync } = require("node:fs");
const { join } = require("node:path");
const { monitorEventLoopDelay } = require("node:perf_hooks");
const v8 = require("node:v8");

/** @type {{ profiler: any, delay: import("node:perf_hooks").IntervalHistogram, usedAtStart: number, startedAt: bigint } | undefined} */
let window;

process.on("SIGUSR2", () => {
  if (!window) start();
  else stop();
});

function start() {
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const profiler = new v8.GCProfiler();
  profiler.start();
  window = { profiler, delay, usedAtStart: v8.getHeapStatistics().used_heap_size, startedAt: process.hrtime.bigint() };
}

function stop() {
  if (!window) return;
  const { profiler, delay, usedAtStart, startedAt } = window;
  window = undefined;
  const data = profiler.stop();
  delay.disable();
  const usedNow = v8.getHeapStatistics().used_heap_size;
  const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
  let allocatedBytes = 0;
  let previousAfter = usedAtStart;
  let scavenges = 0;
  let markCompacts = 0;
  let other = 0;
  let pauseUs = 0;
  // What scavenges moved to the old generation: objects that outlived two of them. A request's
  // objects should die young; promoted bytes per request that grow are garbage the old
  // generation fills with (see libs/mux/src/stream-table.ts for one such case).
  let promotedBytes = 0;
  const oldSpace = (/** @type {any} */ stats) => stats.heapSpaceStatistics?.find((/** @type {any} */ sp) => sp.spaceName === "old_space")?.spaceUsedSize ?? 0;
  for (const event of data?.statistics ?? []) {
    allocatedBytes += Math.max(0, event.beforeGC.heapStatistics.usedHeapSize - previousAfter);
    previousAfter = event.afterGC.heapStatistics.usedHeapSize;
    pauseUs += event.cost;
    if (event.gcType === "Scavenge" || event.gcType === "MinorMarkCompact") {
      scavenges++;
      promotedBytes += Math.max(0, oldSpace(event.afterGC) - oldSpace(event.beforeGC));
    }
    else if (event.gcType === "MarkSweepCompact") markCompacts++;
    else other++;
  }
  allocatedBytes += Math.max(0, usedNow - previousAfter);
  const ms = (/** @type {number} */ ns) => Math.round(ns / 1e3) / 1e3;
  const report = {
    pid: process.pid,
    seconds,
    allocatedBytes,
    promotedBytes,
    gcEvents: data?.statistics?.length ?? 0,
    scavenges,
    markCompacts,
    otherGcEvents: other,
    gcPauseMs: Math.round(pauseUs) / 1e3,
    eventLoopDelay: { meanMs: ms(delay.mean), p50Ms: ms(delay.percentile(50)), p99Ms: ms(delay.percentile(99)), maxMs: ms(delay.max) },
  };
  const dir = process.env.ONRAMP_BENCH_PROBE_DIR;
  if (dir) writeFileSync(join(dir, `${process.pid}.json`), `${JSON.stringify(report)}\n`);
}
