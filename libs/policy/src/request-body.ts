import type { ActionExecution } from "./action-types.js";

/**
 * A body read that failed (too large, stalled, client gone): not a policy evaluation error but the
 * edge's own, so the engine hands `error` back to the edge (which answers with its code) instead
 * of logging a failed evaluation.
 */
export class RequestBodyError extends Error {
  override readonly name = "RequestBodyError";
  constructor(readonly error: unknown) {
    super(error instanceof Error ? error.message : String(error));
  }
}

const EMPTY = new Uint8Array(0);

/** The request body, or empty when the request has none (or the edge gave no source, as in tests of bodiless requests). */
export async function readRequestBody(x: ActionExecution): Promise<Uint8Array> {
  const source = x.view?.request.body;
  if (!source) return EMPTY;
  try {
    return await source.read();
  } catch (err) {
    throw new RequestBodyError(err);
  }
}

/** Replaces the body to forward and keeps a declared Content-Length in step, so later rules see the new length. */
export function replaceRequestBody(x: ActionExecution, body: Uint8Array): void {
  const request = x.view?.request;
  if (!request?.body) return;
  request.body.replace(body);
  request.contentLength = body.length;
  if (request.headers.has("content-length")) request.headers.set("content-length", [String(body.length)]);
}
