import { ErrorCode, OnrampError } from "@onramp/errors";
import { request as httpRequest, type ClientRequest, type RequestOptions } from "node:http";
import { request as httpsRequest } from "node:https";
import { Pool } from "undici";
import { isHostHeader } from "./options.js";

/** Where an endpoint's traffic goes, parsed once at bind time. */
export interface Upstream {
  /** e.g. http://localhost:3000 */
  readonly url: string;
  /** Keep-alive connection pool for ordinary requests (undici: about half the CPU of node:http here). */
  readonly pool: Pool;
  /** node:http for protocol switches, which undici's pool does not keep alive anyway. */
  readonly request: (options: RequestOptions) => ClientRequest;
  readonly base: RequestOptions;
  /** The Host every request carries to the upstream (the bind's `hostHeader`); undefined: the client's. */
  readonly host: string | undefined;
}

/** `3000`, `host:port` or a URL → the upstream's URL. */
export function normalizeUpstream(target: string): string {
  const t = target.trim();
  if (/^\d{1,5}$/.test(t)) return `http://localhost:${t}`;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(t)) return t.replace(/\/+$/, "");
  return `http://${t}`;
}

/** `hostHeader` as `BindOptions` has it; "rewrite" becomes the URL's host[:port] here. */
export function createUpstream(target: string, hostHeader?: string): Upstream {
  const url = normalizeUpstream(target);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new OnrampError(ErrorCode.InvalidArgument, `upstream ${JSON.stringify(target)} is not a port, host:port or URL`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new OnrampError(ErrorCode.InvalidArgument, `upstream scheme ${parsed.protocol} is not supported (use http:// or https://)`);
  }
  if (parsed.pathname !== "/" || parsed.search) {
    throw new OnrampError(ErrorCode.InvalidArgument, `upstream ${url} must not have a path or query`);
  }
  if (hostHeader !== undefined && hostHeader !== "rewrite" && !isHostHeader(hostHeader)) {
    throw new OnrampError(ErrorCode.InvalidArgument, `bind option hostHeader: ${JSON.stringify(hostHeader)} is not "rewrite" or a host[:port]`);
  }
  const https = parsed.protocol === "https:";
  const origin = `${parsed.protocol}//${parsed.host}`;
  return {
    url: origin,
    pool: new Pool(origin, {
      // The time to response headers is timed by forwardRequest (undici's timer is too coarse).
      // Bodies may idle forever (SSE, long polls).
      headersTimeout: 0,
      bodyTimeout: 0,
    }),
    request: https ? httpsRequest : httpRequest,
    base: {
      // An upgraded connection belongs to its client; it never goes back to a pool.
      agent: false,
      hostname: parsed.hostname.replace(/^\[|\]$/g, ""),
      port: parsed.port || (https ? 443 : 80),
      // Host is the request's own (the client's, or the bind's hostHeader); Node must not add another.
      setHost: false,
    },
    host: hostHeader === "rewrite" ? parsed.host : hostHeader,
  };
}

/** A request's headers as its upstream gets them: with `upstream.host` set, that is the one Host, sent first (RFC 9112 §3.2). */
export function upstreamHeaders(upstream: Upstream, headers: string[]): string[] {
  if (upstream.host === undefined) return headers;
  const out = ["host", upstream.host];
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if (headers[i]!.toLowerCase() !== "host") out.push(headers[i]!, headers[i + 1]!);
  }
  return out;
}

/** Maps an upstream connection error (node:http or undici) to what the edge tells the client. */
export function upstreamError(err: NodeJS.ErrnoException, upstream: string): OnrampError {
  switch (err.code) {
    case "UND_ERR_CONNECT_TIMEOUT":
      return new OnrampError(ErrorCode.UpstreamRefused, `connecting to the upstream ${upstream} timed out`, { cause: err });
    case "ECONNREFUSED":
      return new OnrampError(ErrorCode.UpstreamRefused, `the upstream ${upstream} refused the connection; is it running?`, { cause: err });
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return new OnrampError(ErrorCode.UpstreamRefused, `the upstream host of ${upstream} could not be resolved`, { cause: err });
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return new OnrampError(ErrorCode.UpstreamRefused, `the upstream ${upstream} is unreachable`, { cause: err });
    default:
      return new OnrampError(ErrorCode.UpstreamError, `the connection to the upstream ${upstream} failed (${err.code ?? err.message})`, { cause: err });
  }
}
