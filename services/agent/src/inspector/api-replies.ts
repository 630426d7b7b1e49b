import { ERROR_CODE_HEADER, ErrorCode, headerValueOf, OnrampError } from "@onramp/errors";
import type { IncomingMessage, ServerResponse } from "node:http";

/** Largest request body the API reads: a replay's edits, body included. 1 MiB; captured bodies are 64 KiB by default. */
const MAX_BODY_BYTES = 1024 * 1024;

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), "cache-control": "no-store" });
  res.end(text);
}

/**
 * An error as ngrok's agent API sends them, `{error_code, status_code, msg}`, with Onramp's code
 * (`ERR_ONRAMP_NOT_FOUND`) also in the Onramp-Error-Code header. `status` overrides the code's
 * own status where HTTP has a more exact one (405, 415).
 */
export function sendApiError(res: ServerResponse, error: OnrampError, status = error.httpStatus, headers: Record<string, string> = {}): void {
  const code = headerValueOf(error.code);
  const text = JSON.stringify({ error_code: code, status_code: status, msg: error.message });
  res.writeHead(status, { ...headers, "content-type": "application/json", "content-length": Buffer.byteLength(text), [ERROR_CODE_HEADER]: code, "cache-control": "no-store" });
  res.end(text);
}

export function methodNotAllowed(res: ServerResponse, method: string | undefined, path: string, allowed: readonly string[]): void {
  const error = new OnrampError(ErrorCode.InvalidArgument, `${method} is not allowed on ${path} (allowed: ${allowed.join(", ")})`);
  sendApiError(res, error, 405, { allow: allowed.join(", ") });
}

/**
 * Whether the body is declared JSON. The API takes nothing else: a page of another site cannot
 * send `application/json` without a CORS preflight, which this API never grants, so no other
 * site can replay or clear requests through a user's browser.
 */
export function isJson(req: IncomingMessage): boolean {
  return (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase() === "application/json";
}

/** The request's body, parsed as JSON; at most 1 MiB. */
export async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new OnrampError(ErrorCode.BodyTooLarge, `the body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
  } catch (err) {
    throw new OnrampError(ErrorCode.InvalidArgument, `the body is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
}
