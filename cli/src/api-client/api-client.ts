import { ErrorCode, OnrampError } from "@onramp/errors";
import { exchange, tlsProblem } from "./api-transport.js";

/** Where `onramp edge` and `onramp registry` serve the API when not told otherwise (their --api-addr default). */
export const DEFAULT_API_URL = "http://127.0.0.1:4041";

/**
 * 30 s per request: the API answers from etcd or memory in milliseconds, and answers 503
 * REGISTRY_UNAVAILABLE itself when etcd is slow, so a silent API for this long is not coming back.
 */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/** How `onramp api` reaches the registry API. */
export interface ApiClientOptions {
  /** Base URL, without `/v1`: `http://127.0.0.1:4041`, `https://api.example.com/onramp`, or `host:port` (http). Default DEFAULT_API_URL. */
  apiUrl?: string;
  /** The API key, sent as `Authorization: Bearer <key>`. Required: every path but /openapi.json and /healthz needs one. */
  apiKey?: string;
  /** Deadline of each request in ms. Default DEFAULT_REQUEST_TIMEOUT_MS. */
  timeoutMs?: number;
  /** PEM CA certificate(s) (not a file name) to verify an https:// API with. Default: the system CAs. */
  ca?: string;
}

export interface ResolvedApiClientOptions {
  readonly baseUrl: URL;
  readonly apiKey: string;
  readonly timeoutMs: number;
  readonly ca: string | undefined;
}

/** One answer of the API, whatever its status: the caller decides what a status means. */
export interface ApiResponse {
  readonly status: number;
  /** The body as received; "" for 204. */
  readonly text: string;
  /** The body parsed as JSON, or undefined when it is empty or not JSON. */
  readonly body: unknown;
  /** The URL asked, for messages. */
  readonly url: string;
}

export interface ApiClient {
  readonly baseUrl: URL;
  /** `path` starts with `/v1/` (and may carry a query); `body` is sent as JSON. Throws only when no answer came. */
  send(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<ApiResponse>;
}

/** Checks the flags once, naming the one at fault. */
export function resolveApiClientOptions(options: ApiClientOptions): ResolvedApiClientOptions {
  const raw = (options.apiUrl ?? DEFAULT_API_URL).trim();
  // --api-addr is written host:port, so that form is taken as plain http.
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`;
  let baseUrl: URL;
  try {
    baseUrl = new URL(withScheme);
  } catch {
    throw new OnrampError(ErrorCode.InvalidArgument, `--api-url ${JSON.stringify(raw)} is not a URL; use e.g. ${DEFAULT_API_URL}`);
  }
  if (baseUrl.protocol !== "http:" && baseUrl.protocol !== "https:") {
    throw new OnrampError(ErrorCode.InvalidArgument, `--api-url ${raw}: only http:// and https:// are supported`);
  }
  if (baseUrl.search || baseUrl.hash || baseUrl.username || baseUrl.password) {
    throw new OnrampError(ErrorCode.InvalidArgument, `--api-url ${raw}: give the base URL only, without query, fragment or credentials (the key goes in --api-key)`);
  }
  const apiKey = options.apiKey?.trim() ?? "";
  if (apiKey === "") {
    throw new OnrampError(
      ErrorCode.Unauthorized,
      "no API key: pass --api-key KEY or set ONRAMP_API_KEY (the key the API was started with, as in onramp registry --api-key KEY, or one made with onramp api api-keys create)",
    );
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) throw new OnrampError(ErrorCode.InvalidArgument, `timeoutMs must be a positive integer, got ${timeoutMs}`);
  const ca = options.ca?.trim() ? options.ca : undefined;
  if (ca !== undefined && !ca.includes("-----BEGIN CERTIFICATE-----")) throw new OnrampError(ErrorCode.InvalidArgument, "--api-ca must be a file of PEM certificates (-----BEGIN CERTIFICATE-----)");
  return { baseUrl, apiKey, timeoutMs, ca };
}

export function createApiClient(options: ApiClientOptions): ApiClient {
  const { baseUrl, apiKey, timeoutMs, ca } = resolveApiClientOptions(options);
  const base = baseUrl.href.replace(/\/+$/, "");
  return {
    baseUrl,
    async send(method, path, body, signal) {
      const url = `${base}${path}`;
      const deadline = AbortSignal.timeout(timeoutMs);
      let response: { status: number; text: string };
      try {
        response = await exchange({
          method,
          url: new URL(url),
          headers: {
            authorization: `Bearer ${apiKey}`,
            accept: "application/json",
            ...(body === undefined ? {} : { "content-type": "application/json" }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: signal ? AbortSignal.any([signal, deadline]) : deadline,
          ...(ca === undefined ? {} : { ca }),
        });
      } catch (err) {
        throw unreachable(baseUrl, err, timeoutMs);
      }
      const { text } = response;
      return { status: response.status, text, body: parseJson(text), url };
    },
  };
}

function parseJson(text: string): unknown {
  if (text.trim() === "") return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The plain message for an API that did not answer: where, why, and how to start one. */
function unreachable(baseUrl: URL, err: unknown, timeoutMs: number): OnrampError {
  const where = baseUrl.href.replace(/\/+$/, "");
  const tls = tlsProblem(err);
  if (tls !== undefined) return new OnrampError(ErrorCode.RegistryUnavailable, `cannot use the Onramp API at ${where}: ${tls}`, { cause: err });
  return new OnrampError(
    ErrorCode.RegistryUnavailable,
    `cannot reach the Onramp API at ${where} (${reasonOf(err, timeoutMs)}); start it with onramp edge (serves it on 127.0.0.1:4041) ` +
      "or onramp registry --etcd URL --api-addr HOST:PORT --api-key KEY, or point --api-url / ONRAMP_API_URL at where it runs",
    { cause: err },
  );
}

function reasonOf(err: unknown, timeoutMs: number): string {
  if (err instanceof DOMException && err.name === "TimeoutError") return `no answer within ${timeoutMs / 1000} s`;
  if (err instanceof DOMException && err.name === "AbortError") return "cancelled";
  const code = (err as { code?: unknown }).code ?? (err as { cause?: { code?: unknown } }).cause?.code;
  switch (code) {
    case "ECONNREFUSED":
      return "connection refused";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "unknown host";
    case "ECONNRESET":
    case "UND_ERR_SOCKET":
      return "connection reset";
    case "ETIMEDOUT":
    case "UND_ERR_CONNECT_TIMEOUT":
      return "connection timed out";
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return "host unreachable";
    default:
      return typeof code === "string" ? code : err instanceof Error ? err.message : String(err);
  }
}
