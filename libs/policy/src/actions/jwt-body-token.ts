import type { ActionExecution } from "../action-types.js";
import { firstHeader } from "../context.js";
import { readRequestBody } from "../request-body.js";

/** Methods whose requests carry no meaningful body (RFC 9110 §9.3): a body token there is ignored. */
const BODYLESS = new Set(["GET", "HEAD", "DELETE", "OPTIONS", "TRACE", "CONNECT"]);

/**
 * A jwt-validation token with `method: body`: the form field `name` of an
 * `application/x-www-form-urlencoded` body (RFC 6750 §2.2's `access_token`), or the top-level
 * string property `name` of a JSON object body. Undefined when the method has no body, the body
 * is of another type, or the field is absent.
 */
export async function tokenFromBody(x: ActionExecution, name: string): Promise<string | undefined> {
  const request = x.view?.request;
  if (!request || BODYLESS.has(request.method.toUpperCase())) return undefined;
  const type = (firstHeader(request.headers, "content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  const isForm = type === "application/x-www-form-urlencoded";
  const isJson = type === "application/json" || type.endsWith("+json");
  if (!isForm && !isJson) return undefined;
  const text = new TextDecoder().decode(await readRequestBody(x));
  if (isForm) return new URLSearchParams(text).get(name) ?? undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return undefined;
    const value = (parsed as Record<string, unknown>)[name];
    return typeof value === "string" ? value : undefined;
  } catch {
    return undefined;
  }
}
