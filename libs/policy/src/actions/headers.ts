import { type ActionDefinition, HTTP_PHASES, NEXT, targetHeaders } from "../action-types.js";
import { appendHeader } from "../context.js";
import { EvaluationError } from "../interpolation.js";
import type { Cursor } from "../policy-error.js";

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export function checkHeaderName(cursor: Cursor, name: string): boolean {
  if (TOKEN.test(name)) return true;
  cursor.error(`${JSON.stringify(name)} is not a valid HTTP header name`);
  return false;
}

/** Interpolated values come from requests; a CR or LF in one would split the header. */
export function checkHeaderValue(name: string, value: string): string {
  if (/[\r\n\0]/.test(value)) throw new EvaluationError(`value of header ${name} contains CR, LF or NUL`);
  return value;
}

/** `add-headers`: appends headers to the request (request phase) or the response (response phase). */
export const addHeaders: ActionDefinition = {
  type: "add-headers",
  phases: HTTP_PHASES,
  compile(config) {
    const headers = config.templateMap("headers", { required: true });
    config.finish();
    if (!headers) return undefined;
    const valid = headers.filter((h) => checkHeaderName(h.cursor, h.value[0]));
    if (valid.length !== headers.length) return undefined;
    if (valid.length === 0) config.cursor.key("headers", undefined).error("must name at least one header");
    const entries = valid.map((h) => h.value);
    return {
      type: "add-headers",
      alwaysTerminates: false,
      run(x) {
        const target = targetHeaders(x);
        const added = new Map<string, string>();
        for (const [name, template] of entries) {
          const value = checkHeaderValue(name, template.render(x.scope));
          appendHeader(target, name, value);
          added.set(name.toLowerCase(), value);
        }
        x.setResult("add_headers", { headers_added: added });
        return NEXT;
      },
    };
  },
};

/** `remove-headers`: deletes headers, by name, from the request or the response. */
export const removeHeaders: ActionDefinition = {
  type: "remove-headers",
  phases: HTTP_PHASES,
  compile(config) {
    const names = config.stringList("headers", { required: true, min: 1 });
    config.finish();
    if (!names || !names.every((n) => checkHeaderName(n.cursor, n.value))) return undefined;
    const lower = names.map((n) => n.value.toLowerCase());
    return {
      type: "remove-headers",
      alwaysTerminates: false,
      run(x) {
        const target = targetHeaders(x);
        for (const name of lower) target.delete(name);
        x.setResult("remove_headers", { headers_removed: lower });
        return NEXT;
      },
    };
  },
};
