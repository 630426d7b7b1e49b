import { ERROR_CODE_HEADER, headerValueOf, type ErrorCode, type OnrampError } from "@onramp/errors";
import type { ServerResponse } from "node:http";
import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";

function bodyOf(error: OnrampError): string {
  return `${error.httpStatus} ${STATUS_CODES[error.httpStatus] ?? ""}: ${error.message} (${headerValueOf(error.code)})\n`;
}

/**
 * Answers with an Onramp error: the status for its code, an `Onramp-Error-Code` header and a
 * one-line human body. A response already under way can only be cut off.
 */
export function sendError(res: ServerResponse, error: OnrampError, closeConnection = false): void {
  if (res.headersSent) {
    res.destroy(error);
    return;
  }
  const body = bodyOf(error);
  // setHeader (not writeHead's object form) so metrics can read the code back with getHeader.
  res.setHeader("content-type", "text/plain; charset=utf-8");
  res.setHeader("content-length", Buffer.byteLength(body));
  res.setHeader("cache-control", "no-store");
  res.setHeader(ERROR_CODE_HEADER, headerValueOf(error.code));
  if (closeConnection) res.setHeader("connection", "close");
  res.writeHead(error.httpStatus);
  res.end(body);
}

/**
 * The same answer written straight to a socket (client errors, upgrades and CONNECT have no
 * response object); `headers` (names and values alternating) go along, e.g. the `Allow` of a 405.
 */
export function writeRawError(socket: Duplex, error: OnrampError, headers: readonly string[] = []): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = bodyOf(error);
  let extra = "";
  for (let i = 0; i + 1 < headers.length; i += 2) extra += `${headers[i]}: ${headers[i + 1]}\r\n`;
  socket.end(
    `HTTP/1.1 ${error.httpStatus} ${STATUS_CODES[error.httpStatus] ?? ""}\r\n` +
      extra +
      "Content-Type: text/plain; charset=utf-8\r\n" +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      "Cache-Control: no-store\r\n" +
      `Onramp-Error-Code: ${headerValueOf(error.code)}\r\n` +
      "Connection: close\r\n\r\n" +
      body,
  );
}

/** A policy-generated response written straight to a socket (an upgrade the policy answered). */
export function writeRawResponse(socket: Duplex, r: { status: number; headers: string[]; body: string; code: ErrorCode | undefined }): void {
  if (!socket.writable) return void socket.destroy();
  let head = `HTTP/1.1 ${r.status} ${STATUS_CODES[r.status] ?? ""}\r\n`;
  for (let i = 0; i + 1 < r.headers.length; i += 2) head += `${r.headers[i]}: ${r.headers[i + 1]}\r\n`;
  if (r.code) head += `Onramp-Error-Code: ${headerValueOf(r.code)}\r\n`;
  socket.end(`${head}Content-Length: ${Buffer.byteLength(r.body)}\r\nConnection: close\r\n\r\n${r.body}`);
}
