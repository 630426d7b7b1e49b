import type { ExchangeInfo } from "../exchange-observer.js";

/** An exchange as the agent reports it, for the inspector's tests; `overrides` change any field. */
export function exchangeInfo(overrides: Partial<ExchangeInfo> = {}): ExchangeInfo {
  return {
    endpointUrl: "https://app.example.com",
    bindId: "bind_1",
    edge: "127.0.0.1:4443",
    upstream: "http://127.0.0.1:1",
    method: "POST",
    path: "/hook?x=1",
    headers: ["host", "app.example.com", "content-type", "application/json", "x-multi", "a", "x-multi", "b"],
    clientAddr: "203.0.113.7:51234",
    upgrade: false,
    startedAt: Date.parse("2030-01-02T03:04:05.000Z"),
    inspect: true,
    ...overrides,
  };
}

/** What the agent reports at the end of an exchange that got `status`. */
export function outcome(status: number | undefined, durationMs = 12.5) {
  return { status, error: undefined, durationMs, requestBytes: 0, responseBytes: 0 };
}
