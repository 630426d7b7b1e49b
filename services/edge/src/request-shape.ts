import type { ErrorCode } from "@onramp/errors";
import type { ResponseHeadFields as ResponseHead } from "@onramp/mux";
import type { ResponseBodyEdit } from "@onramp/policy";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import type { EdgeEndpoint, Route } from "./dispatch.js";
import { clientIpOf, requestHeadersForAgent } from "./forwarded-headers.js";
import { http2HasBody, isHttp2Request } from "./http2-adapter.js";
import type { RequestRecord } from "./request-telemetry.js";

/*
 * The shapes the HTTP proxy, the policy flow and the upgrade proxy share: the request as it goes
 * to the agent, what a response policy decides, and the small helpers around a client's request.
 */

export interface HttpProxyOptions {
  maxRequestBodyBytes: number;
  inlineBodyBytes: number;
  /** Add `Onramp-Attempts` to every proxied response. */
  attemptsHeader?: boolean;
  /** Longest pause between two pieces of a request body, in ms (see body-idle-timeout.ts); 0 or absent: none. */
  bodyTimeoutMs?: number;
  /** Largest body a traffic policy may buffer (request or decoded response), in bytes; DEFAULT_MAX_POLICY_BODY_BYTES when absent. */
  maxPolicyBodyBytes?: number;
}

/** 1 MiB: webhooks, form posts and JSON API bodies fit with room to spare; larger is an upload, not a policy's business. */
export const DEFAULT_MAX_POLICY_BODY_BYTES = 1024 * 1024;

/** The request as it goes to the agent: the client's, or what a traffic policy made of it. */
export interface RequestShape {
  method: string;
  /** Path and query. */
  path: string;
  /** Names and values alternating; hop-by-hop headers already removed, X-Forwarded-* added. */
  headers: string[];
  /** The whole body, when a traffic policy read it (policy-body.ts); absent: streamed from the client. */
  body?: Uint8Array;
}

/** What to do with the upstream's response head, decided by the response phase of a policy. */
export type ResponseDecision =
  | {
      kind: "write";
      status: number;
      statusText: string;
      headers: string[];
      compress: "gzip" | "br" | "deflate" | undefined;
      /** Edits of the whole body (response-body-find-replace): buffered, decoded, edited, re-encoded. */
      bodyEdits?: readonly ResponseBodyEdit[] | undefined;
    }
  | { kind: "replace"; status: number; headers: string[]; body: string; code: ErrorCode | undefined }
  | { kind: "close" };

/** Called as methods (on the hooks object), so one object per request can hold their state. */
export interface ForwardHooks {
  /** Runs on the response head before anything is written to the client; a decision made at once needs no promise. */
  response?(head: ResponseHead): ResponseDecision | Promise<ResponseDecision>;
  /** Called once with the response status, or "error" when none came back. */
  settled?(result: number | "error"): void;
}

/** Takes requests whose endpoint or member has a traffic policy. */
export interface PolicyHandler {
  handle(req: IncomingMessage, res: ServerResponse, endpoint: EdgeEndpoint, route: Route | undefined, expectContinue: boolean, record: RequestRecord): void;
  handleUpgrade(req: IncomingMessage, socket: Duplex, early: Buffer, endpoint: EdgeEndpoint, route: Route | undefined): void;
}

/** The client's request as the agent should see it, before any policy; upgrades keep Connection/Upgrade. */
export function shapeOf(req: IncomingMessage, keepUpgrade = false): RequestShape {
  return { method: req.method ?? "GET", path: req.url ?? "/", headers: requestHeadersForAgent(req, clientIpOf(req), keepUpgrade) };
}

/** Declared Content-Length, -1 when absent (chunked or none). */
export function contentLength(req: IncomingMessage): number {
  const value = req.headers["content-length"];
  return value === undefined ? -1 : Number(value);
}

/**
 * Whether the request has a body to read or refuse. HTTP/2 has no Transfer-Encoding and
 * Content-Length is optional: there, a body is any request whose HEADERS frame did not end the stream.
 */
export function hasBody(req: IncomingMessage): boolean {
  if (isHttp2Request(req)) return http2HasBody(req);
  return req.headers["transfer-encoding"] !== undefined || contentLength(req) > 0;
}

/** Writes a response a policy generated in place of the upstream's. */
export function writeReplacement(res: ServerResponse, r: { status: number; headers: string[]; body: string; code: ErrorCode | undefined }, closeConnection = false): void {
  if (res.headersSent) return void res.destroy();
  for (let i = 0; i + 1 < r.headers.length; i += 2) res.appendHeader(r.headers[i]!, r.headers[i + 1]!);
  if (r.code) res.setHeader("onramp-error-code", `ERR_ONRAMP_${r.code}`);
  res.setHeader("content-length", Buffer.byteLength(r.body));
  if (closeConnection) res.setHeader("connection", "close");
  res.writeHead(r.status);
  res.end(r.body);
}

