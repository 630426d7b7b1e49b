import { ErrorCode, OnrampError } from "@onramp/errors";

/**
 * Checks of request bodies. Messages start with the field they are about, as the control store's
 * do (`description is 300 characters long…`): http-reply.ts reads `details.field` from there.
 */

export function invalidField(field: string, problem: string): OnrampError {
  return new OnrampError(ErrorCode.InvalidArgument, `${field} ${problem}`);
}

/** Refuses fields the operation does not take, so a typo (`acls`) is an error rather than silently ignored. */
export function onlyFields(body: Record<string, unknown>, allowed: readonly string[]): void {
  const takes = `it takes ${allowed.join(", ")}`;
  for (const name of Object.keys(body)) {
    if (allowed.includes(name)) continue;
    if (/^\w{1,64}$/.test(name)) throw invalidField(name, `is not a field of this request (${takes})`);
    throw new OnrampError(ErrorCode.InvalidArgument, `the body has a field this request does not take (${takes})`);
  }
}

export function optionalString(body: Record<string, unknown>, field: string): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw invalidField(field, "must be a string");
  return value;
}

export function requiredString(body: Record<string, unknown>, field: string): string {
  const value = optionalString(body, field);
  if (value === undefined || value.trim() === "") throw invalidField(field, "is required");
  return value;
}

/** Absent (or null) means "leave as is" in a PATCH and "none" in a POST. */
export function optionalStringList(body: Record<string, unknown>, field: string): string[] | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw invalidField(field, "must be a list of strings");
  return value.map((item: unknown, i) => {
    if (typeof item !== "string") throw invalidField(`${field}[${i}]`, "must be a string");
    return item;
  });
}

/**
 * A path id of the form the store hands out (`tok_…`, `key_…`: the prefix, then letters, digits
 * or `_`). Anything else names nothing: NOT_FOUND, without repeating it, since what a caller puts
 * where an id goes may be a secret pasted in the wrong place.
 */
export function pathId(value: string | undefined, prefix: "tok_" | "key_", what: string): string {
  if (value === undefined || !value.startsWith(prefix) || !/^[a-z0-9_]{5,128}$/.test(value)) {
    throw new OnrampError(ErrorCode.NotFound, `${what} ids start with ${prefix} followed by letters and digits; no ${what} has this one`);
  }
  return value;
}
