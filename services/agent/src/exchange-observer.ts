import type { OnrampError } from "@onramp/errors";

/** The bind a request came for, and the edge it came through. */
export interface ExchangeBind {
  readonly bindId: string;
  readonly url: string;
  readonly edge: string;
  /** The bind's `inspect` option. */
  readonly inspect: boolean;
}

/** One request the agent forwards to an upstream, as observers (inspector, status screen, metrics) see it. */
export interface ExchangeInfo {
  /** The endpoint's URL as bound, e.g. https://app.example.com. */
  readonly endpointUrl: string;
  readonly bindId: string;
  /** The edge address the request came through (the one the agent dialled). */
  readonly edge: string;
  /** The upstream's origin, e.g. http://localhost:3000. */
  readonly upstream: string;
  readonly method: string;
  /** Path and query as the upstream gets them. */
  readonly path: string;
  /**
   * Names and values alternating, as the upstream gets them (Host and traceparent included: the
   * request's trace is `traceIdOf(rawHeader(headers, "traceparent"))`, read by those who need it).
   */
  readonly headers: readonly string[];
  /** The client's address as the edge saw it, ip:port. */
  readonly clientAddr: string;
  /** A protocol switch (WebSocket): no response body is observed, only the 101 and the end. */
  readonly upgrade: boolean;
  /** Date.now() when the agent got the request head. */
  readonly startedAt: number;
  /** False when the endpoint opted out of inspection (BindOptions.inspect): observers that keep requests skip it. */
  readonly inspect: boolean;
}

export interface ExchangeOutcome {
  /** The upstream's status; undefined when none came (refused, timed out, reset). */
  readonly status: number | undefined;
  /** Why the exchange failed, when it did (the code the edge was sent). */
  readonly error: OnrampError | undefined;
  /** From the request head to the end of the response, in ms. */
  readonly durationMs: number;
  readonly requestBytes: number;
  readonly responseBytes: number;
}

/**
 * Hooks on one exchange, called in order: request body chunks (the inline body first, if any),
 * the response head, response body chunks, then `end` exactly once. Chunks are the agent's own
 * buffers: an observer that keeps one must copy it. Header arrays (ExchangeInfo.headers, the
 * response's) are made for the exchange and never changed afterwards: observers may keep them.
 * Observers must not throw or block.
 */
export interface ExchangeObserver {
  requestBody?(chunk: Uint8Array): void;
  response?(status: number, statusText: string, headers: readonly string[]): void;
  responseBody?(chunk: Uint8Array): void;
  end(outcome: ExchangeOutcome): void;
}

/** Called at the start of every exchange; returns undefined to observe nothing of it. */
export type ObserveExchange = (info: ExchangeInfo) => ExchangeObserver | undefined;

/** One ObserveExchange that fans out to several; undefined when there are none (no cost per request). */
export function combineObservers(list: ReadonlyArray<ObserveExchange | undefined>): ObserveExchange | undefined {
  const all = list.filter((o): o is ObserveExchange => o !== undefined);
  if (all.length <= 1) return all[0];
  return (info) => {
    const observers = all.map((o) => o(info)).filter((o): o is ExchangeObserver => o !== undefined);
    if (observers.length <= 1) return observers[0];
    return {
      requestBody: (chunk) => observers.forEach((o) => o.requestBody?.(chunk)),
      response: (status, text, headers) => observers.forEach((o) => o.response?.(status, text, headers)),
      responseBody: (chunk) => observers.forEach((o) => o.responseBody?.(chunk)),
      end: (outcome) => observers.forEach((o) => o.end(outcome)),
    };
  };
}
