import { rawHeader } from "@onramp/mux";
import { traceIdOf } from "@onramp/telemetry";
import { randomBytes } from "node:crypto";
import type { ExchangeInfo, ExchangeObserver, ExchangeOutcome } from "../exchange-observer.js";
import { CapturedBody } from "./captured-body.js";
import type { CapturedExchange, CapturedOutcome, CapturedResponse } from "./captured-exchange.js";

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
export type RecordedInfo = Pick<ExchangeInfo, "endpointUrl" | "bindId" | "upstream" | "method" | "path" | "headers" | "clientAddr" | "startedAt">;

/** Hex digits of an id's sequence number (after the store's prefix). */
const SEQ_DIGITS = 8;

/**
 * The inspector's history: the latest exchanges, oldest dropped first once there are more than
 * `maxRequests` or their bodies pass `maxTotalBodyBytes` together. Exchanges are recorded as they
 * happen, through the observer `begin` returns, and listeners hear of every change.
 *
 * It records every request the agent forwards, so it costs little per request: exchanges sit in a
 * ring of `maxRequests` slots by sequence number (no map, no hashing), and an id string is made
 * only when someone asks for it.
 */
export class ExchangeStore {
  /** Exchange number `seq` sits in slot `seq % maxRequests` while it is kept. */
  private readonly slots: Array<StoredExchange | undefined>;
  /** The next exchange's number. */
  private nextSeq = 0;
  /** No exchange below this number is kept; the one at it may have been dropped. */
  private oldestSeq = 0;
  private count = 0;
  private totalBytes = 0;
  /** Ids differ across restarts, so a page left open never mistakes a new exchange for an old one. */
  readonly idPrefix = randomBytes(4).toString("hex");
  private readonly listeners = new Set<(event: StoreEvent) => void>();

  constructor(private readonly limits: StoreLimits) {
    this.slots = new Array<StoredExchange | undefined>(limits.maxRequests).fill(undefined);
  }

  /**
   * Records a new exchange; the observer fills it in as the exchange goes on. The header arrays
   * are kept as given: the agent makes them per request and never changes them afterwards.
   */
  begin(info: RecordedInfo, replayOf?: string): { exchange: CapturedExchange; observer: ExchangeObserver } {
    const seq = this.nextSeq++;
    const slot = seq % this.slots.length;
    // The one a full ring's length older: the oldest, whatever the other limits say.
    const older = this.slots[slot];
    if (older) this.drop(older);
    const exchange = new StoredExchange(this, seq, info, replayOf, this.limits.bodyBytes);
    this.slots[slot] = exchange;
    this.count++;
    this.changed(exchange);
    this.evict(exchange);
    return { exchange, observer: new Recording(exchange) };
  }

  /** `n` more body bytes kept by `exchange`, which is still kept. */
  kept(exchange: StoredExchange, n: number): void {
    if (n === 0) return;
    exchange.bytes += n;
    this.totalBytes += n;
    this.evict(exchange);
  }

  /** Tells listeners `exchange` was added or changed, unless it was dropped meanwhile. */
  changed(exchange: StoredExchange): void {
    if (this.listeners.size > 0 && !exchange.dropped) this.emit({ kind: "exchange", exchange });
  }

  get(id: string): CapturedExchange | undefined {
    if (!id.startsWith(this.idPrefix)) return undefined;
    const digits = id.slice(this.idPrefix.length);
    // At least SEQ_DIGITS: past 16^8 exchanges the numbers just grow longer.
    if (!/^[0-9a-f]{8,13}$/.test(digits)) return undefined;
    return this.at(parseInt(digits, 16));
  }

  /** Newest first; `endpointUrl` keeps only that endpoint's. */
  list(filter: { limit?: number; endpointUrl?: string } = {}): CapturedExchange[] {
    const out: CapturedExchange[] = [];
    const limit = filter.limit ?? Infinity;
    for (let seq = this.nextSeq - 1; seq >= this.oldestSeq && out.length < limit; seq--) {
      const x = this.at(seq);
      if (x && (filter.endpointUrl === undefined || x.endpointUrl === filter.endpointUrl)) out.push(x);
    }
    return out;
  }

  /** Exchanges kept and their body bytes; for tests and diagnostics. */
  size(): { requests: number; bodyBytes: number } {
    return { requests: this.count, bodyBytes: this.totalBytes };
  }

  clear(): void {
    for (let seq = this.oldestSeq; seq < this.nextSeq; seq++) {
      const x = this.at(seq);
      if (x) this.forget(x);
    }
    this.oldestSeq = this.nextSeq;
    this.emit({ kind: "cleared" });
  }

  /** Calls `listener` on every change until the returned function is called. */
  subscribe(listener: (event: StoreEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The kept exchange numbered `seq`, if it still is. */
  private at(seq: number): StoredExchange | undefined {
    if (seq < this.oldestSeq || seq >= this.nextSeq) return undefined;
    const x = this.slots[seq % this.slots.length];
    return x?.seq === seq ? x : undefined;
  }

  /** Drops the oldest exchanges, never `keep` (the one growing), until both limits hold. */
  private evict(keep: StoredExchange): void {
    for (let seq = this.oldestSeq; seq < this.nextSeq && !this.withinLimits(); seq++) {
      const x = this.at(seq);
      if (x && x !== keep) this.drop(x);
    }
    while (this.oldestSeq < this.nextSeq && !this.at(this.oldestSeq)) this.oldestSeq++;
  }

  private withinLimits(): boolean {
    return this.count <= this.limits.maxRequests && this.totalBytes <= this.limits.maxTotalBodyBytes;
  }

  private drop(x: StoredExchange): void {
    this.forget(x);
    if (this.listeners.size > 0) this.emit({ kind: "evicted", id: x.id });
  }

  private forget(x: StoredExchange): void {
    this.slots[x.seq % this.slots.length] = undefined;
    x.dropped = true;
    this.count--;
    this.totalBytes -= x.bytes;
    x.request.body.drop();
    x.responseBody.drop();
  }

  private emit(event: StoreEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

/** One exchange in the store: what the API shows, and the store's own bookkeeping of it. */
class StoredExchange implements CapturedExchange {
  readonly endpointUrl: string;
  readonly bindId: string;
  readonly upstream: string;
  readonly clientAddr: string;
  readonly startedAt: number;
  readonly request: CapturedExchange["request"];
  response: CapturedResponse | undefined = undefined;
  readonly responseBody: CapturedBody;
  outcome: CapturedOutcome | undefined = undefined;
  /** Body bytes this exchange counts in the store's total. */
  bytes = 0;
  dropped = false;
  private madeId: string | undefined = undefined;
  private readTraceId: string | undefined = undefined;

  constructor(
    readonly store: ExchangeStore,
    readonly seq: number,
    info: RecordedInfo,
    readonly replayOf: string | undefined,
    bodyBytes: number,
  ) {
    this.endpointUrl = info.endpointUrl;
    this.bindId = info.bindId;
    this.upstream = info.upstream;
    this.clientAddr = info.clientAddr;
    this.startedAt = info.startedAt;
    this.request = { method: info.method, path: info.path, headers: info.headers, body: new CapturedBody(bodyBytes) };
    this.responseBody = new CapturedBody(bodyBytes);
  }

  /** The trace the request belongs to, from the traceparent it was sent with; "" for none. Read when asked for. */
  get traceId(): string {
    return (this.readTraceId ??= traceIdOf(rawHeader(this.request.headers, "traceparent")));
  }

  /** The store's prefix and the sequence number in hex (ngrok's form), so ids sort by age. */
  get id(): string {
    return (this.madeId ??= this.store.idPrefix + this.seq.toString(16).padStart(SEQ_DIGITS, "0"));
  }
}

/** The observer of one exchange being recorded: methods, not closures, as it is made per request. */
class Recording implements ExchangeObserver {
  constructor(private readonly exchange: StoredExchange) {}

  requestBody(chunk: Uint8Array): void {
    // Dropped while in flight (a long upload): nothing more is kept of it.
    if (!this.exchange.dropped) this.exchange.store.kept(this.exchange, this.exchange.request.body.append(chunk));
  }

  response(status: number, statusText: string, headers: readonly string[]): void {
    this.exchange.response = { status, statusText, headers };
    this.exchange.store.changed(this.exchange);
  }

  responseBody(chunk: Uint8Array): void {
    if (!this.exchange.dropped) this.exchange.store.kept(this.exchange, this.exchange.responseBody.append(chunk));
  }

  end(outcome: ExchangeOutcome): void {
    const error = outcome.error && { code: outcome.error.code, message: outcome.error.message };
    this.exchange.outcome = { durationMs: outcome.durationMs, error };
    this.exchange.store.changed(this.exchange);
  }
}
