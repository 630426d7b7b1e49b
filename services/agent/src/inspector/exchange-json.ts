import { STATUS_CODES } from "node:http";
import type { CapturedExchange } from "./captured-exchange.js";

/** Where the API lists captured requests, as in ngrok's agent API. */
export const REQUESTS_PATH = "/api/requests/http";

/** Header names (Go's canonical form, as ngrok shows them) → values in order. */
export type HeadersJson = Record<string, string[]>;

export interface ErrorJson {
  /** An Onramp error code, e.g. UPSTREAM_REFUSED. */
  code: string;
  msg: string;
}

/**
 * One captured request as ngrok's agent API shows it (`GET /api/requests/http/:id`, and each of
 * `requests` in the list), plus Onramp's fields after `response`.
 */
export interface ExchangeJson {
  uri: string;
  id: string;
  /** ngrok names tunnels; an Onramp endpoint's name is its URL. */
  tunnel_name: string;
  remote_addr: string;
  /** ISO 8601. */
  start: string;
  /** Nanoseconds, as ngrok counts them; the time so far while in flight. */
  duration: number;
  request: {
    method: string;
    proto: "HTTP/1.1";
    headers: HeadersJson;
    /** Path and query. */
    uri: string;
    /** Base64 of the request head and the captured body. */
    raw: string;
    body_size: number;
    body_truncated: boolean;
  };
  /** Null until the response head comes, and when none came (see `error`). */
  response: {
    /** e.g. "200 OK". */
    status: string;
    status_code: number;
    proto: "HTTP/1.1";
    headers: HeadersJson;
    raw: string;
    body_size: number;
    body_truncated: boolean;
  } | null;
  endpoint_url: string;
  upstream: string;
  /** "" when the request carried no trace context. */
  trace_id: string;
  /** The id this request replays; null for traffic from the edge. */
  replay_of: string | null;
  /** False while in flight. */
  complete: boolean;
  error: ErrorJson | null;
}

/** What the live list needs of an exchange: no headers or bodies. */
export interface ExchangeSummaryJson {
  id: string;
  tunnel_name: string;
  start: string;
  duration: number;
  method: string;
  uri: string;
  status_code: number | null;
  request_bytes: number;
  response_bytes: number;
  replay_of: string | null;
  complete: boolean;
  error: ErrorJson | null;
}

export function exchangeJson(x: CapturedExchange, now = Date.now()): ExchangeJson {
  const { request, response } = x;
  const requestLine = `${request.method} ${request.path} HTTP/1.1`;
  return {
    uri: `${REQUESTS_PATH}/${x.id}`,
    id: x.id,
    tunnel_name: x.endpointUrl,
    remote_addr: x.clientAddr,
    start: new Date(x.startedAt).toISOString(),
    duration: durationNs(x, now),
    request: {
      method: request.method,
      proto: "HTTP/1.1",
      headers: headersJson(request.headers),
      uri: request.path,
      raw: rawMessage(requestLine, request.headers, request.body.bytes()),
      body_size: request.body.seen,
      body_truncated: request.body.truncated,
    },
    response: response
      ? {
          status: statusLine(response.status, response.statusText),
          status_code: response.status,
          proto: "HTTP/1.1",
          headers: headersJson(response.headers),
          raw: rawMessage(`HTTP/1.1 ${statusLine(response.status, response.statusText)}`, response.headers, x.responseBody.bytes()),
          body_size: x.responseBody.seen,
          body_truncated: x.responseBody.truncated,
        }
      : null,
    endpoint_url: x.endpointUrl,
    upstream: x.upstream,
    trace_id: x.traceId,
    replay_of: x.replayOf ?? null,
    complete: x.outcome !== undefined,
    error: errorJson(x),
  };
}

export function exchangeSummaryJson(x: CapturedExchange, now = Date.now()): ExchangeSummaryJson {
  return {
    id: x.id,
    tunnel_name: x.endpointUrl,
    start: new Date(x.startedAt).toISOString(),
    duration: durationNs(x, now),
    method: x.request.method,
    uri: x.request.path,
    status_code: x.response?.status ?? null,
    request_bytes: x.request.body.seen,
    response_bytes: x.responseBody.seen,
    replay_of: x.replayOf ?? null,
    complete: x.outcome !== undefined,
    error: errorJson(x),
  };
}

/** Go's canonical header key (`content-type` → `Content-Type`), which ngrok's API shows. */
export function canonicalHeaderName(name: string): string {
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) return name;
  return name.toLowerCase().replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase());
}

export function headersJson(pairs: readonly string[]): HeadersJson {
  const out: HeadersJson = {};
  for (let i = 0; i + 1 < pairs.length; i += 2) {
    const name = canonicalHeaderName(pairs[i]!);
    (out[name] ??= []).push(pairs[i + 1]!);
  }
  return out;
}

function statusLine(status: number, text: string): string {
  return `${status} ${text || STATUS_CODES[status] || ""}`.trimEnd();
}

/** Head as on the wire (latin1, the bytes the header strings were read from) and the captured body, in base64. */
function rawMessage(firstLine: string, headers: readonly string[], body: Buffer): string {
  let head = `${firstLine}\r\n`;
  for (let i = 0; i + 1 < headers.length; i += 2) head += `${headers[i]}: ${headers[i + 1]}\r\n`;
  return Buffer.concat([Buffer.from(`${head}\r\n`, "latin1"), body]).toString("base64");
}

function durationNs(x: CapturedExchange, now: number): number {
  const ms = x.outcome?.durationMs ?? Math.max(0, now - x.startedAt);
  return Math.round(ms * 1e6);
}

function errorJson(x: CapturedExchange): ErrorJson | null {
  const error = x.outcome?.error;
  return error ? { code: error.code, msg: error.message } : null;
}
