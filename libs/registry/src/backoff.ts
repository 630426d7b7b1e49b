import { setTimeout as sleep } from "node:timers/promises";

/**
 * Delay before retry `attempt` (1, 2, …) of something that needs etcd: 100 ms doubling to 5 s,
 * with ±20% jitter so the edges of a mesh do not all come back to a recovered etcd at once.
 * Capped at 5 s so an edge notices a recovered etcd within seconds.
 */
export function retryDelayMs(attempt: number): number {
  const base = Math.min(5_000, 100 * 2 ** Math.max(0, attempt - 1));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

/** Waits `ms`, or less if `signal` aborts; never rejects. */
export async function pause(ms: number, signal: AbortSignal): Promise<void> {
  await sleep(ms, undefined, { signal }).catch(() => undefined);
}
