import { type ActionDefinition, type ActionExecution, NEXT } from "../action-types.js";
import { ConfigReader } from "../config-reader.js";
import type { Template } from "../interpolation.js";
import type { Regex } from "../regex.js";
import { readRequestBody, replaceRequestBody } from "../request-body.js";
import { type RegexField, readRegex } from "./regex-field.js";

interface Replacement {
  readonly from: RegexField;
  readonly to: Template | undefined;
}

interface Resolved {
  readonly from: Regex;
  readonly to: string;
}

const decoder = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

/** `replacements: [{from, to}]`, each `from` RE2 and both `${…}`-interpolated, as ngrok documents. */
function readReplacements(config: ConfigReader): Replacement[] | undefined {
  const out: Replacement[] = [];
  let ok = true;
  for (const item of config.list("replacements", { required: true, min: 1 }) ?? []) {
    const entry = ConfigReader.of(config.cx, item.cursor, item.value);
    if (!entry) {
      ok = false;
      continue;
    }
    const from = readRegex(entry, "from", true);
    const to = entry.template("to");
    entry.finish();
    if (!from || (entry.node("to") && !to)) ok = false;
    else out.push({ from, to });
  }
  return ok && out.length > 0 ? out : undefined;
}

/** The patterns and replacement texts for this request (interpolation runs before matching, as in ngrok). */
function resolve(x: ActionExecution, replacements: readonly Replacement[]): Resolved[] {
  return replacements.map((r) => ({ from: r.from.resolve(x), to: r.to?.render(x.scope) ?? "" }));
}

/**
 * Every match of each rule in turn, later rules seeing earlier rules' output, with `$1`/`${name}`
 * expanded (Go `ReplaceAllString`). The result for `actions.ngrok.*_body_find_replace.replacements`
 * lists the rules that matched with their first match. A body that is not UTF-8 text (an image, a
 * protobuf) is left alone: rewriting it as text would corrupt it. The work is linear in the body
 * (RE2), which the edge's policy body limit bounds, so it is not charged to the CEL budget.
 */
function apply(body: Uint8Array, rules: readonly Resolved[]): { body: Uint8Array; matched: Array<Record<string, unknown>> } {
  let text: string;
  try {
    text = decoder.decode(body);
  } catch {
    return { body, matched: [] };
  }
  const matched: Array<Record<string, unknown>> = [];
  rules.forEach((rule, i) => {
    const m = rule.from.exec(text);
    if (!m) return;
    matched.push({ replacement_index: BigInt(i), matched_content: text.slice(m[0], m[1]) });
    text = rule.from.replaceAll(text, rule.to);
  });
  return { body: matched.length > 0 ? encoder.encode(text) : body, matched };
}

/**
 * `request-body-find-replace`: reads the request body (up to the edge's policy limit), applies the
 * replacements and forwards the result with a corrected Content-Length.
 */
export const requestBodyFindReplace: ActionDefinition = {
  type: "request-body-find-replace",
  phases: ["on_http_request"],
  compile(config) {
    const replacements = readReplacements(config);
    config.finish();
    if (!replacements) return undefined;
    return {
      type: "request-body-find-replace",
      alwaysTerminates: false,
      readsRequestBody: true,
      async run(x) {
        const rules = resolve(x, replacements);
        const body = await readRequestBody(x);
        const result = apply(body, rules);
        if (result.body !== body) replaceRequestBody(x, result.body);
        x.setResult("request_body_find_replace", { replacements: result.matched });
        return NEXT;
      },
    };
  },
};

/**
 * `response-body-find-replace`: decides the replacements in `on_http_response`; the edge buffers
 * the upstream's body (decompressed), applies them and sends the result with a new Content-Length.
 * `actions.ngrok.response_body_find_replace` is set once the body has been rewritten, so later
 * rules of the same phase (which run on the response head) do not see it.
 */
export const responseBodyFindReplace: ActionDefinition = {
  type: "response-body-find-replace",
  phases: ["on_http_response"],
  compile(config) {
    const replacements = readReplacements(config);
    config.finish();
    if (!replacements) return undefined;
    return {
      type: "response-body-find-replace",
      alwaysTerminates: false,
      run(x) {
        const rules = resolve(x, replacements);
        const results = x.ctx.actionResults;
        x.responseBodyEdits.push((body) => {
          const result = apply(body, rules);
          results.set("response_body_find_replace", { replacements: result.matched });
          return result.body;
        });
        return NEXT;
      },
    };
  },
};
