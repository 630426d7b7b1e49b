import type { ServerResponse } from "node:http";
import type { CapturedExchange } from "./captured-exchange.js";
import { exchangeSummaryJson } from "./exchange-json.js";
import type { ExchangeStore, StoreEvent } from "./exchange-store.js";

/**
 * A page that stops reading (a background tab, a stopped debugger) is cut off once this much is
 * waiting for it, rather than growing the agent's memory; EventSource reconnects by itself and
 * gets a fresh snapshot. 1 MiB is thousands of summaries.
 */
const MAX_BUFFERED_BYTES = 1024 * 1024;

/**
 * Changes are sent at most this often, each exchange once with its latest state: under heavy
 * traffic a page costs the agent a bounded amount of work (three changes per request, otherwise),
 * and 100 ms still reads as live.
 */
const FLUSH_MS = 100;

/**
 * Server-Sent Events for the live page: first `snapshot` (the summaries, newest first), then
 * `cleared`, `evicted` (an id) and `exchange` (one summary, new or changed) as the store changes.
 * Every connection starts with a snapshot, so a reconnect never leaves the page stale.
 */
export function serveEventStream(res: ServerResponse, store: ExchangeStore): void {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store", "x-accel-buffering": "no" });
  const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  send("snapshot", store.list().map((x) => exchangeSummaryJson(x)));

  let cleared = false;
  const evicted: string[] = [];
  const changed = new Map<string, CapturedExchange>();
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    timer = undefined;
    if (cleared) send("cleared", {});
    for (const id of evicted) send("evicted", { id });
    const now = Date.now();
    for (const exchange of changed.values()) send("exchange", exchangeSummaryJson(exchange, now));
    cleared = false;
    evicted.length = 0;
    changed.clear();
    if (res.writableLength > MAX_BUFFERED_BYTES) res.destroy();
  };
  const unsubscribe = store.subscribe((event: StoreEvent) => {
    if (event.kind === "exchange") changed.set(event.exchange.id, event.exchange);
    else if (event.kind === "evicted") {
      changed.delete(event.id);
      evicted.push(event.id);
    } else {
      cleared = true;
      evicted.length = 0;
      changed.clear();
    }
    timer ??= setTimeout(flush, FLUSH_MS);
  });
  res.once("close", () => {
    unsubscribe();
    clearTimeout(timer);
  });
}
