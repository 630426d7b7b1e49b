/**
 * Runs a subscriber's `fn`; a throw surfaces as an uncaught exception (as in the in-process bus),
 * not inside the bus client, and does not keep the message from the other subscribers.
 */
export function guarded(fn: () => void): void {
  try {
    fn();
  } catch (err) {
    queueMicrotask(() => {
      throw err;
    });
  }
}
