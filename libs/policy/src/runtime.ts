import { ErrorCode, OnrampError } from "@onramp/errors";
import type { IpIntelligence } from "./ip-intelligence.js";
import { type RateLimitStore, createMemoryRateLimitStore } from "./rate-limit-store.js";

/**
 * Everything the engine needs from the outside world, injected so the library does no I/O of its
 * own and tests control time and the network.
 */
export interface PolicyRuntime {
  /** Milliseconds since the epoch; drives `time.now`, JWT expiry, rate windows, circuit breakers. */
  now(): number;
  /** GETs a JSON document (JWKS); rejects on a non-2xx status or when `signal` aborts. */
  fetchJson(url: string, signal: AbortSignal): Promise<unknown>;
  /**
   * Sends one HTTP request for the `http-request` action, without following redirects (the action
   * follows them itself, checking each hop). Rejects when `signal` aborts, when the connection
   * fails, or with `ResponseTooLargeError` once the body passes `req.maxBodyBytes`.
   */
  httpRequest(req: OutboundRequest, signal: AbortSignal): Promise<OutboundResponse>;
  readonly rateLimits: RateLimitStore;
  /** GeoIP, ASN and IP category lookups behind `conn.client_ip.*` and `conn.geo.*`; without it they read as empty. */
  readonly ipIntelligence?: IpIntelligence;
  /** For `openid-connect` and `oauth`; without it those actions answer 503. */
  readonly auth?: AuthRuntime;
}

/** What the login actions (`openid-connect`, `oauth`) need: the network to the identity provider, and a cookie key. */
export interface AuthRuntime {
  /** Talks to identity providers (discovery, token, user info); the shape of the global `fetch`. */
  fetch(url: string, init: RequestInit): Promise<Response>;
  /**
   * Session cookies are encrypted with a key derived from this; every edge that must accept the
   * same sessions (all edges of a mesh) needs the same secret. At least 16 characters.
   */
  readonly sessionSecret: string;
}

export interface OutboundRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: ReadonlyArray<readonly [string, string]>;
  readonly body: string | undefined;
  /** The response body is read up to this many bytes (after decompression), then refused. */
  readonly maxBodyBytes: number;
}

export interface OutboundResponse {
  readonly status: number;
  /** Lowercase name → values. */
  readonly headers: Map<string, string[]>;
  readonly body: string;
}

/** A response body longer than the request's `maxBodyBytes`. */
export class ResponseTooLargeError extends Error {
  override readonly name = "ResponseTooLargeError";
}

async function fetchJsonWithGlobalFetch(url: string, signal: AbortSignal): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(url, { signal, headers: { accept: "application/json" } });
  } catch (err) {
    if (signal.aborted) throw err;
    throw OnrampError.from(err, ErrorCode.UpstreamError, `fetching ${url} failed`);
  }
  if (!res.ok) throw new OnrampError(ErrorCode.UpstreamError, `fetching ${url} failed: HTTP ${res.status}`);
  return res.json();
}

async function readCapped(body: ReadableStream<Uint8Array> | null, max: number): Promise<string> {
  if (!body) return "";
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => undefined);
      throw new ResponseTooLargeError(`response size exceeded: the body is larger than ${max} bytes`);
    }
    text += decoder.decode(value, { stream: true });
  }
  return text + decoder.decode();
}

async function httpRequestWithGlobalFetch(req: OutboundRequest, signal: AbortSignal): Promise<OutboundResponse> {
  const res = await fetch(req.url, { method: req.method, headers: req.headers.map(([k, v]) => [k, v]), body: req.body, redirect: "manual", signal });
  const headers = new Map<string, string[]>();
  res.headers.forEach((value, name) => {
    if (name === "set-cookie") return;
    headers.set(name, [value]);
  });
  const cookies = res.headers.getSetCookie();
  if (cookies.length > 0) headers.set("set-cookie", cookies);
  return { status: res.status, headers, body: await readCapped(res.body, req.maxBodyBytes) };
}

function randomSecret(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A runtime with defaults for whatever `partial` leaves out: `Date.now`, global `fetch`, in-memory counting. */
export function createPolicyRuntime(partial: Partial<PolicyRuntime> = {}): PolicyRuntime {
  return {
    now: partial.now ?? Date.now,
    fetchJson: partial.fetchJson ?? fetchJsonWithGlobalFetch,
    httpRequest: partial.httpRequest ?? httpRequestWithGlobalFetch,
    rateLimits: partial.rateLimits ?? createMemoryRateLimitStore(),
    ...(partial.ipIntelligence && { ipIntelligence: partial.ipIntelligence }),
    // A per-process secret: sessions survive only as long as this process; the edge passes a shared one.
    auth: partial.auth ?? { fetch: (url, init) => fetch(url, init), sessionSecret: randomSecret() },
  };
}
