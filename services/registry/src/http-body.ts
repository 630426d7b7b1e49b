import { ErrorCode, OnrampError } from "@onramp/errors";
import type { IncomingMessage } from "node:http";

/**
 * Reads a request body as a JSON object; `{}` when there is none. Refuses with BODY_TOO_LARGE as
 * soon as the declared length or the bytes received pass `maxBytes`, without buffering the rest
 * (the reply then closes the connection, see http-reply.ts). Parsed as JSON whatever the
 * Content-Type says: every body this API takes is JSON.
 */
export async function readJsonObject(req: IncomingMessage, maxBytes: number): Promise<Record<string, unknown>> {
  const text = await readText(req, maxBytes);
  if (text.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // Not V8's message: it quotes the body, which may hold anything the caller pasted.
    throw new OnrampError(ErrorCode.InvalidArgument, "the request body is not valid JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new OnrampError(ErrorCode.InvalidArgument, "the request body must be a JSON object");
  }
  return value as Record<string, unknown>;
}

function readText(req: IncomingMessage, maxBytes: number): Promise<string> {
  const declared = Number(req.headers["content-length"]);
  if (declared > maxBytes) return Promise.reject(tooLarge(maxBytes));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const settle = (err: OnrampError | undefined) => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onClose);
      if (err) reject(err);
      else resolve(Buffer.concat(chunks).toString("utf8"));
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      if (received > maxBytes) {
        req.pause();
        settle(tooLarge(maxBytes));
      } else chunks.push(chunk);
    };
    const onEnd = () => settle(undefined);
    const onError = (err: Error) => settle(new OnrampError(ErrorCode.MalformedRequest, "the request body could not be read", { cause: err }));
    const onClose = () => {
      if (!req.complete) settle(new OnrampError(ErrorCode.MalformedRequest, "the client went away before the request body was complete"));
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("close", onClose);
  });
}

function tooLarge(maxBytes: number): OnrampError {
  return new OnrampError(ErrorCode.BodyTooLarge, `the request body is larger than ${maxBytes} bytes`);
}
