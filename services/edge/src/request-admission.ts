import { ErrorCode, OnrampError } from "@onramp/errors";
import type { IncomingMessage } from "node:http";
import { normalizeRequestTarget, type TargetNormalization } from "./request-target.js";

/** What the public listener does with a request before anything routes it. */
export type Admission =
  /** Route it: `req.url` now holds the normalised origin-form target. */
  | { kind: "route" }
  /** `OPTIONS *` asks about the server, not a resource: the edge answers for itself. */
  | { kind: "server-options" }
  | { kind: "refuse"; error: OnrampError };

/**
 * The checks every request passes before routing, policies and the upstream see it: exactly one
 * `Host` (RFC 9112 §3.2: more than one, or none on HTTP/1.1, is a 400; the edge routes by Host, so
 * HTTP/1.0 needs one too), and a target the edge can route, rewritten in place to its normalised
 * origin-form. Rewriting `req.url` once here is what makes the policy and the upstream see the same
 * path, on the proxy and the upgrade path alike.
 */
export function admitRequest(req: IncomingMessage, options: TargetNormalization): Admission {
  const hosts = hostHeaderCount(req.rawHeaders);
  // Node keeps the first of several Host headers in req.headers, but forwards them all.
  if (hosts > 1) return refuse("the request has more than one Host header");
  if (hosts === 0) return refuse("the request has no Host header");
  let target;
  try {
    target = normalizeRequestTarget(req.url ?? "", req.headers.host, options);
  } catch (err) {
    return { kind: "refuse", error: OnrampError.from(err, ErrorCode.MalformedRequest) };
  }
  if (target.form === "asterisk") {
    return req.method === "OPTIONS" ? { kind: "server-options" } : refuse(`the target * is for OPTIONS only, not ${req.method ?? "this method"}`);
  }
  req.url = target.target;
  return { kind: "route" };
}

function hostHeaderCount(raw: readonly string[]): number {
  let n = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 4 && name.toLowerCase() === "host") n++;
  }
  return n;
}

function refuse(message: string): Admission {
  return { kind: "refuse", error: new OnrampError(ErrorCode.MalformedRequest, message) };
}
