import { ERROR_CODE_HEADER, ErrorCode, headerValueOf, httpStatusOf, OnrampError } from "@onramp/errors";
import type { ServerResponse } from "node:http";
import type { Reply } from "./route.js";

/** The JSON body of every error answer (the contract's error shape, as ngrok's API has it). */
export interface ErrorBody {
  error_code: string;
  status_code: number;
  msg: string;
  details: Record<string, unknown>;
}

/**
 * The status for `code` in this API: the shared mapping (libs/errors), except POLICY_INVALID,
 * which the API answers with 422 (the request is well-formed, its policy is not), where an edge
 * refusing an agent's bind has no HTTP status to choose.
 */
export function apiStatusOf(code: ErrorCode): number {
  return code === ErrorCode.PolicyInvalid ? 422 : httpStatusOf(code);
}

/**
 * The error answer for anything a handler threw. `fields` are the names the request has or
 * may have (body fields, `limit`, `cursor`): an INVALID_ARGUMENT whose message starts with one
 * of them (`acl[2] …`, `description is …`) names it in `details.field`. Anything that is not an
 * OnrampError is a bug: its message stays in the log, the client gets a generic one.
 */
export function errorReply(err: unknown, fields: readonly string[]): Reply {
  if (!(err instanceof OnrampError) || err.code === ErrorCode.Internal) {
    const internal = new OnrampError(ErrorCode.Internal, "the registry API failed unexpectedly; its log has the details", { cause: err });
    return { kind: "error", error: internal };
  }
  const field = err.code === ErrorCode.InvalidArgument ? fieldNamedBy(err.message, fields) : undefined;
  return { kind: "error", error: err, ...(field === undefined ? {} : { details: { field } }) };
}

function fieldNamedBy(message: string, fields: readonly string[]): string | undefined {
  const match = /^([A-Za-z0-9_]+)(\[\d+\])?[ :]/.exec(message);
  return match && fields.includes(match[1]!) ? `${match[1]}${match[2] ?? ""}` : undefined;
}

export function errorBodyOf(reply: Extract<Reply, { kind: "error" }>): ErrorBody {
  const status = reply.status ?? apiStatusOf(reply.error.code);
  return { error_code: headerValueOf(reply.error.code), status_code: status, msg: reply.error.message, details: { ...reply.details } };
}

/**
 * Writes `reply`. Nothing is cached (answers carry secrets once, and lists change). After a 413
 * the connection is closed: the rest of that body is never read.
 */
export function sendReply(res: ServerResponse, reply: Reply, extraHeaders: Readonly<Record<string, string>> = {}): number {
  for (const [name, value] of Object.entries(extraHeaders)) res.setHeader(name, value);
  res.setHeader("cache-control", "no-store");
  if (reply.kind === "empty") {
    res.writeHead(reply.status);
    res.end();
    return reply.status;
  }
  let status: number;
  let body: unknown;
  if (reply.kind === "error") {
    const error = errorBodyOf(reply);
    status = error.status_code;
    body = error;
    res.setHeader(ERROR_CODE_HEADER, error.error_code);
    if (reply.error.code === ErrorCode.BodyTooLarge) res.setHeader("connection", "close");
  } else {
    status = reply.status;
    body = reply.body;
  }
  const text = JSON.stringify(body);
  res.setHeader("content-type", "application/json");
  res.setHeader("content-length", Buffer.byteLength(text));
  res.writeHead(status);
  res.end(text);
  return status;
}
