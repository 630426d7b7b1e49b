/**
 * The parent process's id when this module was loaded, i.e. as main.js started (every command
 * imports shutdown.js, which imports this): a parent that dies while the edge or agent is still
 * starting is then noticed at the first look, not missed.
 */
export const PPID_AT_START = process.ppid;

/** How often the parent is looked for: cheap (a getppid() call), and soon enough for a supervisor. */
export const PARENT_WATCH_INTERVAL_MS = 500;

/** A repeating timer that does not keep the process alive; `cancel` stops it. */
export type ParentWatchScheduler = (tick: () => void, ms: number) => { cancel(): void };

export interface ParentWatchOptions {
  /** The parent's id to watch for a change from (default PPID_AT_START). */
  initialPpid?: number;
  /** Reads the current parent's id (default process.ppid, which asks the kernel each time). */
  readPpid?: () => number;
  intervalMs?: number;
  schedule?: ParentWatchScheduler;
}

const unrefInterval: ParentWatchScheduler = (tick, ms) => {
  const timer = setInterval(tick, ms);
  timer.unref();
  return { cancel: () => clearInterval(timer) };
};

/**
 * Calls `onParentExit` once when the parent process goes away, and returns a function that stops
 * watching; returns undefined when there is no parent to watch.
 *
 * A process whose parent dies is re-parented, to init (pid 1) or to the nearest subreaper, so its
 * ppid changes: that is what is looked for. It is how `npx onramp …` stops cleanly when npx is sent
 * SIGTERM, which npx does not pass on to onramp: without this, onramp ran on as an orphan.
 *
 * Not watched when the parent at start is init (or there is none, pid 0 for a container's pid 1):
 * the process was started detached (a daemonizing double fork, `setsid`), or init is its
 * supervisor, and nothing can change that means "stop". Under tini or dumb-init in a container,
 * the parent is tini, which outlives its child, so the watch never fires there.
 */
export function watchParent(onParentExit: (was: number, now: number) => void, options: ParentWatchOptions = {}): (() => void) | undefined {
  const was = options.initialPpid ?? PPID_AT_START;
  if (was <= 1) return undefined;
  const readPpid = options.readPpid ?? (() => process.ppid);
  const schedule = options.schedule ?? unrefInterval;
  let done = false;
  const timer = schedule(() => {
    if (done) return;
    const now = readPpid();
    if (now === was) return;
    done = true;
    timer.cancel();
    onParentExit(was, now);
  }, options.intervalMs ?? PARENT_WATCH_INTERVAL_MS);
  return () => {
    done = true;
    timer.cancel();
  };
}

/** The variable that turns the watch off, for `nohup onramp … &` and other ways of outliving the shell that started it. */
export const EXIT_WITH_PARENT_ENV = "ONRAMP_EXIT_WITH_PARENT";

/** False when ONRAMP_EXIT_WITH_PARENT is 0, false, no or off; any other value, or none, leaves the watch on. */
export function exitWithParentWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env[EXIT_WITH_PARENT_ENV];
  return value === undefined || !/^\s*(0|false|no|off)\s*$/i.test(value);
}
