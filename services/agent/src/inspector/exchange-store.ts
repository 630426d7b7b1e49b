import { randomBytes } from "node:crypto";
import type { ExchangeInfo, ExchangeObserver, ExchangeOutcome } from "../exchange-observer.js";
import { CapturedBody } from "./captured-body.js";
import type { CapturedExchange } from "./captured-exchange.js";

/** What changed in the store, for live views. */
export type StoreEvent =
  /** Added, got its response head, or ended. */
  | { kind: "exchange"; exchange: CapturedExchange }
  /** Dropped to stay within the limits. */
  | { kind: "evicted"; id: string }
  | { kind: "cleared" };

export interface StoreLimits {
  /** Bytes kept of each body. */
  bodyBytes: number;
  maxRequests: number;
  maxTotalBodyBytes: number;
}

/** What an exchange being recorded needs from ExchangeInfo; a replay fills it in itself. */
export type RecordedInfo = Pick<ExchangeInfo, "endpointUrl" | "bindId" | "upstream" | "method" | "path" | "headers" | "clientAddr" | "traceId" | "startedAt">;

export interface Entry {
  exchange: CapturedExchange;
  /** Body bytes this entry counts in the total. */
  bytes: number;
}

/**
 * The inspector's history: the latest exchanges, oldest dropped first once there are more than
 * `maxRequests` or their bodies pass `maxTotalBodyBytes` together. Exchanges are recorded as they
 * happen, through the observer `begin` returns, and listeners hear of every change.
 */
export class ExchangeStore {
  /** In insertion order, which is age order: the first is the oldest. */
  private readonly entries = new Map<string, Entry>();
  private totalBytes = 0;
  private counter = 0;
  /** Ids differ across restarts, so a page left open never mistakes a new exchange for an old one. */
  private readonly idPrefix = randomBytes(4).toString("hex");
  private readonly listeners = new Set<(event: StoreEvent) => void>();

  constructor(private readonly limits: StoreLimits) {}

  /**
   * Records a new exchange; the observer fills it in as the exchange goes on. The header arrays
   * are kept as given: the agent makes them per request and never changes them afterwards.
   */
  begin(info: RecordedInfo, replayOf?: string): { exchange: CapturedExchange; observer: ExchangeObserver } {
    const exchange: CapturedExchange = {
      id: this.idPrefix + (++this.counter).toString(16).padStart(8, "0"),
      endpointUrl: info.endpointUrl,
      bindId: info.bindId,
      upstream: info.upstream,
      clientAddr: info.clientAddr,
      traceId: info.traceId,
      startedAt: info.startedAt,
      replayOf,
      request: { method: info.method, path: info.path, headers: info.headers, body: new CapturedBody(this.limits.bodyBytes) },
      response: undefined,
      responseBody: new CapturedBody(this.limits.bodyBytes),
      outcome: undefined,
    };
    const entry: Entry = { exchange, bytes: 0 };
    this.entries.set(exchange.id, entry);
    this.changed(exchange);
    this.evict(entry);
    return { exchange, observer: new Recording(this, entry) };
  }

  /** `n` more body bytes kept by `entry`'s exchange; an entry dropped while in flight no longer counts. */
  kept(entry: Entry, n: number): void {
    if (n === 0 || this.entries.get(entry.exchange.id) !== entry) return;
    entry.bytes += n;
    this.totalBytes += n;
    this.evict(entry);
  }

  /** Tells listeners `exchange` was added or changed, unless it was dropped meanwhile. */
  changed(exchange: CapturedExchange): void {
    if (this.listeners.size > 0 && this.entries.has(exchange.id)) this.emit({ kind: "exchange", exchange });
  }

  get(id: string): CapturedExchange | undefined {
    return this.entries.get(id)?.exchange;
  }

  /** Newest first; `endpointUrl` keeps only that endpoint's. */
  list(filter: { limit?: number; endpointUrl?: string } = {}): CapturedExchange[] {
    const out: CapturedExchange[] = [];
    const all = [...this.entries.values()];
    for (let i = all.length - 1; i >= 0 && out.length < (filter.limit ?? Infinity); i--) {
      const x = all[i]!.exchange;
      if (filter.endpointUrl === undefined || x.endpointUrl === filter.endpointUrl) out.push(x);
    }
    return out;
  }

  /** Exchanges kept and their body bytes; for tests and diagnostics. */
  size(): { requests: number; bodyBytes: number } {
    return { requests: this.entries.size, bodyBytes: this.totalBytes };
  }

  clear(): void {
    for (const { exchange } of this.entries.values()) dropBodies(exchange);
    this.entries.clear();
    this.totalBytes = 0;
    this.emit({ kind: "cleared" });
  }

  /** Calls `listener` on every change until the returned function is called. */
  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Drops the oldest entries, never `keep` (the one growing), until both limits hold. */
  private evict(keep: Entry): void {
    if (this.entries.size <= this.limits.maxRequests && this.totalBytes <= this.limits.maxTotalBodyBytes) return;
    for (const [id, entry] of this.entries) {
      if (this.entries.size <= this.limits.maxRequests && this.totalBytes <= this.limits.maxTotalBodyBytes) return;
      if (entry === keep) continue;
      this.entries.delete(id);
      this.totalBytes -= entry.bytes;
      dropBodies(entry.exchange);
      if (this.listeners.size > 0) this.emit({ kind: "evicted", id });
    }
  }

  private emit(event: StoreEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

/** The observer of one exchange being recorded: methods, not closures, as it is made per request. */
class Recording implements ExchangeObserver {
  constructor(
    private readonly store: ExchangeStore,
    private readonly entry: Entry,
  ) {}

  requestBody(chunk: Uint8Array): void {
    this.store.kept(this.entry, this.entry.exchange.request.body.append(chunk));
  }

  response(status: number, statusText: string, headers: readonly string[]): void {
    this.entry.exchange.response = { status, statusText, headers };
    this.store.changed(this.entry.exchange);
  }

  responseBody(chunk: Uint8Array): void {
    this.store.kept(this.entry, this.entry.exchange.responseBody.append(chunk));
  }

  end(outcome: ExchangeOutcome): void {
    const error = outcome.error && { code: outcome.error.code, message: outcome.error.message };
    this.entry.exchange.outcome = { durationMs: outcome.durationMs, error };
    this.store.changed(this.entry.exchange);
  }
}

function dropBodies(exchange: CapturedExchange): void {
  exchange.request.body.drop();
  exchange.responseBody.drop();
}
