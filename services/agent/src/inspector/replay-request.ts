import { ErrorCode, OnrampError } from "@onramp/errors";

/** Changes to a captured request before it is sent again: the edited replay (Onramp's extension of ngrok's API). */
export interface ReplayEdits {
  /** e.g. "PUT". */
  method?: string;
  /** Path and query, starting with "/". */
  path?: string;
  /**
   * Header name (any case) → its value or values, replacing every captured value of that name;
   * null removes the header. Headers not named stay as captured.
   */
  headers?: Record<string, string | string[] | null>;
  /** Replaces the body; sent as UTF-8, with Content-Length to match. */
  body?: string;
}

/** `POST /api/requests/http` as the API takes it. */
export interface ReplayRequest {
  id: string;
  edits: ReplayEdits;
}

/** `tunnel_name` is ngrok's and accepted, but a replay always goes to the request's own endpoint. */
const FIELDS = new Set(["id", "tunnel_name", "method", "path", "uri", "headers", "body"]);
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** What Node and undici send: no spaces or control characters (RFC 9112 §3.2). */
const PATH = /^\/[\x21-\x7e]*$/;
const HEADER_VALUE = /^[^\r\n\0]*$/;
/** undici sets these itself, or refuses them (Expect, Upgrade); a replay is one plain exchange. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "expect", "content-length"]);

/** Checks the JSON body of a replay; errors name the field. */
export function parseReplayRequest(json: unknown): ReplayRequest {
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw bad("the body must be a JSON object, e.g. {\"id\": \"…\"}");
  const body = json as Record<string, unknown>;
  const unknown = Object.keys(body).filter((k) => !FIELDS.has(k));
  if (unknown.length > 0) throw bad(`unknown field ${JSON.stringify(unknown[0])} (known: ${[...FIELDS].join(", ")})`);
  const { id, method, path, uri, headers, body: text } = body;
  if (typeof id !== "string" || id === "") throw bad("id: the id of a captured request is required, as a string");
  const edits: ReplayEdits = {};
  if (method !== undefined) {
    if (typeof method !== "string" || !TOKEN.test(method)) throw bad(`method: ${JSON.stringify(method)} is not an HTTP method`);
    edits.method = method;
  }
  if (path !== undefined && uri !== undefined) throw bad("give path or uri, not both (they are the same)");
  const target = path ?? uri;
  if (target !== undefined) {
    const field = path !== undefined ? "path" : "uri";
    if (typeof target !== "string" || !PATH.test(target)) throw bad(`${field}: ${JSON.stringify(target)} must start with "/" and contain no spaces or control characters`);
    edits.path = target;
  }
  if (headers !== undefined) edits.headers = checkHeaders(headers);
  if (text !== undefined) {
    if (typeof text !== "string") throw bad("body: must be a string (sent as UTF-8)");
    edits.body = text;
  }
  return { id, edits };
}

/** The captured headers with the edits applied, less the ones a replay may not carry as they were. */
export function editedHeaders(captured: readonly string[], edits: ReplayEdits["headers"]): string[] {
  const replaced = new Map(Object.entries(edits ?? {}).map(([name, value]) => [name.toLowerCase(), value]));
  const out: string[] = [];
  for (let i = 0; i + 1 < captured.length; i += 2) {
    const lower = captured[i]!.toLowerCase();
    if (!replaced.has(lower) && !HOP_BY_HOP.has(lower)) out.push(captured[i]!, captured[i + 1]!);
  }
  for (const [name, value] of Object.entries(edits ?? {})) {
    if (value === null || HOP_BY_HOP.has(name.toLowerCase())) continue;
    for (const v of typeof value === "string" ? [value] : value) out.push(name, v);
  }
  return out;
}

function checkHeaders(headers: unknown): Record<string, string | string[] | null> {
  if (typeof headers !== "object" || headers === null || Array.isArray(headers)) throw bad("headers: must be an object of name → value, [values] or null");
  const out: Record<string, string | string[] | null> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!TOKEN.test(name)) throw bad(`headers: ${JSON.stringify(name)} is not a header name`);
    const values = value === null ? [] : typeof value === "string" ? [value] : Array.isArray(value) ? value : undefined;
    if (values === undefined || !values.every((v) => typeof v === "string" && HEADER_VALUE.test(v))) {
      throw bad(`headers.${name}: must be a string, an array of strings or null, without line breaks`);
    }
    out[name] = value as string | string[] | null;
  }
  return out;
}

function bad(why: string): OnrampError {
  return new OnrampError(ErrorCode.InvalidArgument, `replay: ${why}`);
}
