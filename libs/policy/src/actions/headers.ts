import { type ActionDefinition, HTTP_PHASES, NEXT, targetHeaders } from "../action-types.js";
import { appendLowercaseHeader } from "../context.js";
import { EvaluationError } from "../interpolation.js";
import type { Cursor } from "../policy-error.js";

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

export function checkHeaderName(cursor: Cursor, name: string): boolean {
  if (TOKEN.test(name)) return true;
  cursor.error(`${JSON.stringify(name)} is not a valid HTTP header name`);
  return false;
}

const UNSAFE_VALUE = /[\r\n\0]/;

/** Interpolated values come from requests; a CR or LF in one would split the header. */
export function checkHeaderValue(name: string, value: string): string {
  if (UNSAFE_VALUE.test(value)) throw new EvaluationError(`value of header ${name} contains CR, LF or NUL`);
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
    // Names lowercased, and constant values checked, once here rather than per request.
    const entries = valid.map(({ value: [name, template] }) => ({
      name,
      lower: name.toLowerCase(),
      template,
      clean: template.constant !== undefined && !UNSAFE_VALUE.test(template.constant) ? template.constant : undefined,
    }));
    // When every value is constant, so is `actions.ngrok.add_headers`: one record serves every request (CEL cannot change it).
    const constant = entries.every((e) => e.clean !== undefined) ? { headers_added: new Map(entries.map((e) => [e.lower, e.clean as string])) } : undefined;
    /** The values of the run that rendered last, the record made of them, and the scratch list of this run's (runs are synchronous). */
    let lastValues: readonly string[] = [];
    let last: { headers_added: Map<string, string> } | undefined;
    const values: string[] = [];
    return {
      type: "add-headers",
      alwaysTerminates: false,
      run(x) {
        const target = targetHeaders(x);
        if (constant) {
          for (const { lower, clean } of entries) appendLowercaseHeader(target, lower, clean as string);
          x.setResult("add_headers", constant);
          return NEXT;
        }
        // Values that are all the last request's (a client's requests come in runs) share its record.
        let same = last !== undefined;
        for (let i = 0; i < entries.length; i++) {
          const { name, lower, template, clean } = entries[i] as (typeof entries)[number];
          const value = clean ?? checkHeaderValue(name, template.render(x.scope));
          appendLowercaseHeader(target, lower, value);
          if (same && lastValues[i] !== value) same = false;
          values[i] = value;
        }
        if (!same || last === undefined) {
          const added = new Map<string, string>();
          for (let i = 0; i < entries.length; i++) added.set((entries[i] as (typeof entries)[number]).lower, values[i] as string);
          last = { headers_added: added };
          lastValues = values.slice();
        }
        x.setResult("add_headers", last);
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
    const result = { headers_removed: lower };
    return {
      type: "remove-headers",
      alwaysTerminates: false,
      run(x) {
        const target = targetHeaders(x);
        for (const name of lower) target.delete(name);
        x.setResult("remove_headers", result);
        return NEXT;
      },
    };
  },
};
