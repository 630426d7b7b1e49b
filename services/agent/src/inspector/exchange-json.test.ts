import { ErrorCode, OnrampError } from "@onramp/errors";
import { describe, expect, it } from "vitest";
import { canonicalHeaderName, exchangeJson, exchangeSummaryJson } from "./exchange-json.js";
import { ExchangeStore } from "./exchange-store.js";
import { exchangeInfo, outcome } from "./test-exchanges.js";

const limits = { bodyBytes: 64, maxRequests: 10, maxTotalBodyBytes: 1024 };

describe("exchangeJson: ngrok's captured request, plus Onramp's fields", () => {
  it("has ngrok's shape: headers by canonical name, raw head and body in base64, duration in ns", () => {
    const store = new ExchangeStore(limits);
    const { exchange, observer } = store.begin(
      exchangeInfo({ headers: [...exchangeInfo().headers, "traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"] }),
    );
    observer.requestBody?.(Buffer.from('{"a":1}'));
    observer.response?.(201, "", ["content-type", "text/plain", "set-cookie", "a=1", "set-cookie", "b=2"]);
    observer.responseBody?.(Buffer.from("made"));
    observer.end(outcome(201, 1.5));
    const json = exchangeJson(exchange);
    expect(json).toEqual({
      uri: `/api/requests/http/${exchange.id}`,
      id: exchange.id,
      tunnel_name: "https://app.example.com",
      remote_addr: "203.0.113.7:51234",
      start: "2030-01-02T03:04:05.000Z",
      duration: 1_500_000,
      request: {
        method: "POST",
        proto: "HTTP/1.1",
        headers: {
          Host: ["app.example.com"],
          "Content-Type": ["application/json"],
          "X-Multi": ["a", "b"],
          Traceparent: ["00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"],
        },
        uri: "/hook?x=1",
        raw: expect.any(String),
        body_size: 7,
        body_truncated: false,
      },
      response: {
        status: "201 Created",
        status_code: 201,
        proto: "HTTP/1.1",
        headers: { "Content-Type": ["text/plain"], "Set-Cookie": ["a=1", "b=2"] },
        raw: expect.any(String),
        body_size: 4,
        body_truncated: false,
      },
      endpoint_url: "https://app.example.com",
      upstream: "http://127.0.0.1:1",
      trace_id: "4bf92f3577b34da6a3ce929d0e0e4736",
      replay_of: null,
      complete: true,
      error: null,
    });
    expect(Buffer.from(json.request.raw, "base64").toString()).toBe(
      'POST /hook?x=1 HTTP/1.1\r\nhost: app.example.com\r\ncontent-type: application/json\r\nx-multi: a\r\nx-multi: b\r\ntraceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\r\n\r\n{"a":1}',
    );
    expect(Buffer.from(json.response!.raw, "base64").toString()).toBe("HTTP/1.1 201 Created\r\ncontent-type: text/plain\r\nset-cookie: a=1\r\nset-cookie: b=2\r\n\r\nmade");
  });

  it("shows an exchange in flight with its time so far, and a failed one with its error and no response", () => {
    const store = new ExchangeStore(limits);
    const { exchange, observer } = store.begin(exchangeInfo());
    expect(exchangeJson(exchange, exchange.startedAt + 250)).toMatchObject({ duration: 250_000_000, complete: false, response: null, error: null });
    observer.end({ ...outcome(undefined, 3), error: new OnrampError(ErrorCode.UpstreamRefused, "the upstream refused the connection") });
    expect(exchangeSummaryJson(exchange)).toEqual({
      id: exchange.id,
      tunnel_name: "https://app.example.com",
      start: "2030-01-02T03:04:05.000Z",
      duration: 3_000_000,
      method: "POST",
      uri: "/hook?x=1",
      status_code: null,
      request_bytes: 0,
      response_bytes: 0,
      replay_of: null,
      complete: true,
      error: { code: "UPSTREAM_REFUSED", msg: "the upstream refused the connection" },
    });
  });

  it("names headers as Go (and so ngrok) does", () => {
    expect(["content-type", "X-FORWARDED-FOR", "www-authenticate", "te", "x_odd", "bad name"].map(canonicalHeaderName)).toEqual([
      "Content-Type", "X-Forwarded-For", "Www-Authenticate", "Te", "X_odd", "bad name",
    ]);
  });
});
