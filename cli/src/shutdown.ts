import { exitWithParentWanted, watchParent } from "./parent-watch.js";

/**
 * Runs `stop` on the first SIGINT or SIGTERM and exits 0 when it finishes; a second signal
 * exits at once with 130, for when draining takes longer than the user will wait.
 *
 * The same stop runs when the parent process exits (see parent-watch.ts): `npx onramp …` sent
 * SIGTERM dies without passing it on, and onramp must not run on as an orphan. Set
 * ONRAMP_EXIT_WITH_PARENT=false to keep running, e.g. under `nohup … &`.
 *
 * Returns a function that begins the same stop for another reason (e.g. a worker of `onramp
 * edge --workers` asked by its primary), once; the caller logs why.
 */
export function onShutdown(stop: () => Promise<void>): () => void {
  let stopping = false;
  let unwatch: (() => void) | undefined;
  const begin = () => {
    stopping = true;
    // A parent that exits while this drains (npx after a Ctrl-C) is no second signal.
    unwatch?.();
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`onramp: error while shutting down: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.stderr.write(`onramp: ${signal} again, exiting without draining\n`);
      process.exit(130);
    }
    begin();
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  if (exitWithParentWanted()) {
    unwatch = watchParent((was) => {
      if (stopping) return;
      // Whoever read this process's output may have gone with the parent: a write that fails
      // (EPIPE) must not end the drain with an uncaught error.
      for (const stream of [process.stdout, process.stderr]) stream.on("error", () => {});
      process.stderr.write(`onramp: parent process (pid ${was}) exited; shutting down as on SIGTERM\n`);
      begin();
    });
  }
  return () => {
    if (!stopping) begin();
  };
}
