import { describe, expect, it } from "vitest";
import { exitWithParentWanted, PARENT_WATCH_INTERVAL_MS, PPID_AT_START, watchParent, type ParentWatchScheduler } from "./parent-watch.js";

/** A scheduler the test ticks by hand, recording the interval asked for and whether it was cancelled. */
function manualTimer() {
  const state = { tick: undefined as (() => void) | undefined, ms: 0, cancelled: false };
  const schedule: ParentWatchScheduler = (tick, ms) => {
    state.tick = tick;
    state.ms = ms;
    return { cancel: () => void (state.cancelled = true) };
  };
  return { schedule, state, tick: () => state.tick!() };
}

describe("watchParent", () => {
  it("calls back once, with the old and new parent, when the ppid changes", () => {
    const timer = manualTimer();
    let ppid = 4242;
    const calls: [number, number][] = [];
    const unwatch = watchParent((was, now) => calls.push([was, now]), { initialPpid: 4242, readPpid: () => ppid, schedule: timer.schedule });
    expect(unwatch).toBeTypeOf("function");
    expect(timer.state.ms).toBe(PARENT_WATCH_INTERVAL_MS);
    timer.tick();
    timer.tick();
    expect(calls).toEqual([]);
    expect(timer.state.cancelled).toBe(false);
    // The parent died: re-parented to init.
    ppid = 1;
    timer.tick();
    expect(calls).toEqual([[4242, 1]]);
    expect(timer.state.cancelled).toBe(true);
    // A tick already queued when it was cancelled does not call back again.
    timer.tick();
    expect(calls).toEqual([[4242, 1]]);
  });

  it("notices re-parenting to a subreaper, not only to init", () => {
    const timer = manualTimer();
    const calls: [number, number][] = [];
    watchParent((was, now) => calls.push([was, now]), { initialPpid: 300, readPpid: () => 17, schedule: timer.schedule });
    timer.tick();
    expect(calls).toEqual([[300, 17]]);
  });

  it("notices a parent that died before the watch started (the edge was still starting)", () => {
    const timer = manualTimer();
    const calls: [number, number][] = [];
    watchParent((was, now) => calls.push([was, now]), { initialPpid: 300, readPpid: () => 1, schedule: timer.schedule });
    // Nothing happens until the first tick: the callback never runs inside watchParent.
    expect(calls).toEqual([]);
    timer.tick();
    expect(calls).toEqual([[300, 1]]);
  });

  it("does not watch when the parent at start is init, or there is none (pid 1 in a container)", () => {
    for (const initialPpid of [1, 0]) {
      const timer = manualTimer();
      expect(watchParent(() => expect.fail("called back"), { initialPpid, readPpid: () => 99, schedule: timer.schedule })).toBeUndefined();
      expect(timer.state.tick).toBeUndefined();
    }
  });

  it("stops watching when told to", () => {
    const timer = manualTimer();
    let ppid = 50;
    const unwatch = watchParent(() => expect.fail("called back"), { initialPpid: 50, readPpid: () => ppid, schedule: timer.schedule })!;
    unwatch();
    expect(timer.state.cancelled).toBe(true);
    ppid = 1;
    timer.tick();
  });

  it("watches this process's real parent by default with a timer that does not keep it alive", () => {
    expect(PPID_AT_START).toBe(process.ppid);
    const unwatch = watchParent(() => expect.fail("the test runner's parent exited"));
    expect(unwatch).toBeTypeOf("function");
    unwatch!();
  });
});

describe("exitWithParentWanted", () => {
  it("is on unless ONRAMP_EXIT_WITH_PARENT says no", () => {
    expect(exitWithParentWanted({})).toBe(true);
    for (const value of ["1", "true", "yes", "on", ""]) expect(exitWithParentWanted({ ONRAMP_EXIT_WITH_PARENT: value }), value).toBe(true);
    for (const value of ["0", "false", "FALSE", "no", "off", " off "]) expect(exitWithParentWanted({ ONRAMP_EXIT_WITH_PARENT: value }), value).toBe(false);
  });
});
