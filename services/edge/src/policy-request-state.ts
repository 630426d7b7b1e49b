import type { HttpRequestState } from "@onramp/policy";
import type { IncomingMessage } from "node:http";
import type { RequestShape } from "./http-proxy.js";

// The request as the policies see and edit it (headers as a map of lists), and back.

/** The request a policy sees and edits: the client's, with X-Forwarded-* already set. */
export function requestState(req: IncomingMessage, shape: RequestShape): HttpRequestState {
  const q = shape.path.indexOf("?");
  const length = req.headers["content-length"];
  return {
    method: shape.method,
    scheme: "http",
    host: req.headers.host ?? "",
    path: q < 0 ? shape.path : shape.path.slice(0, q),
    rawQuery: q < 0 ? "" : shape.path.slice(q + 1),
    headers: toMap(shape.headers),
    httpVersion: req.httpVersion,
    ...(length !== undefined ? { contentLength: Number(length) } : {}),
  };
}

/** The request to forward; with `body` (read by a policy, maybe rewritten), its Content-Length is that body's. */
export function shapeOfState(state: HttpRequestState, body?: Uint8Array): RequestShape {
  if (!state.headers.has("host") && state.host) state.headers.set("host", [state.host]);
  const path = state.rawQuery ? `${state.path}?${state.rawQuery}` : state.path;
  if (!body) return { method: state.method, path, headers: flatten(state.headers) };
  state.headers.delete("transfer-encoding");
  state.headers.set("content-length", [String(body.length)]);
  return { method: state.method, path, headers: flatten(state.headers), body };
}

export function toMap(flat: readonly string[]): Map<string, string[]> {
  const map = new Map<string, string[]>();
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const key = lowercase(flat[i]!);
    const list = map.get(key);
    if (list) list.push(flat[i + 1]!);
    else map.set(key, [flat[i + 1]!]);
  }
  return map;
}

/**
 * The map as names and values alternating, sized before it is filled, and walked with forEach:
 * `for (const [name, values] of map)` built an entry array and an iterator result per header,
 * about 1 KB of garbage per request under a policy (flatten runs for the request and the response).
 */
export function flatten(headers: Map<string, string[]>): string[] {
  let length = 0;
  headers.forEach((values) => (length += 2 * values.length));
  const out = new Array<string>(length);
  let i = 0;
  headers.forEach((values, name) => {
    for (let j = 0; j < values.length; j++) {
      out[i++] = name;
      out[i++] = values[j]!;
    }
  });
  return out;
}

/** `name` in lowercase, itself when it is already (no new string: most names are, or are short). */
function lowercase(name: string): string {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 65 && c <= 90) return name.toLowerCase();
  }
  return name;
}
