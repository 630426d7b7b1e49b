import type { ActionExecution } from "../action-types.js";
import { BoundedCache } from "../bounded-cache.js";
import type { ConfigReader } from "../config-reader.js";
import { EvaluationError, type Template } from "../interpolation.js";
import { type Regex, compileRegex } from "../regex.js";
import { compileUnits, matchUnits } from "../regex-cost.js";

/**
 * An RE2 pattern field (`from`). A literal pattern is compiled when the policy loads; one with
 * `${…}` is interpolated per request (ngrok: "all CEL interpolation occurs before regular
 * expressions are evaluated") and compiled once per distinct text.
 */
export interface RegexField {
  /** The pattern for this request. Throws EvaluationError if the interpolated text is not RE2. */
  resolve(x: ActionExecution): Regex;
}

/** 64 distinct interpolated patterns per action: one per host or tenant, not one per request. */
const DYNAMIC_PATTERNS = 64;

/** Reads an RE2 pattern field, reporting a bad literal pattern at the field. */
export function readRegex(config: ConfigReader, key: string, required: boolean): RegexField | undefined {
  const n = config.node(key, required);
  if (!n) return undefined;
  const pattern = config.string(key);
  if (pattern === undefined) return undefined;
  if (pattern.includes("${")) {
    const template = config.template(key);
    return template && dynamicRegex(template);
  }
  const r = compileRegex(pattern);
  if (!r.ok) {
    n.cursor.error(r.message);
    return undefined;
  }
  const tooBig = config.cx.cel.patterns.admit(pattern);
  if (tooBig !== undefined) {
    n.cursor.error(tooBig);
    return undefined;
  }
  const regex = r.regex;
  return { resolve: () => regex };
}

function dynamicRegex(template: Template): RegexField {
  const compiled = new BoundedCache<string, Regex | string>(DYNAMIC_PATTERNS);
  return {
    resolve(x) {
      const pattern = template.render(x.scope);
      const r = compiled.getOrMake(pattern, () => {
        // Charged before compiling, like a `matches()` pattern built from request data.
        x.scope.meter.charge(compileUnits(pattern));
        const c = compileRegex(pattern);
        return c.ok ? c.regex : c.message;
      });
      if (typeof r === "string") throw new EvaluationError(`${template.source} produced ${JSON.stringify(pattern)}: ${r}`);
      return r;
    },
  };
}

/**
 * `input` with every match of `from` replaced by `replacement()`, or undefined when nothing
 * matches. The search is charged to the request's budget like CEL (a long URL against a big
 * pattern is the same hazard as in `matches()`): the match test up front, the capture search as
 * it goes, so an over-budget rewrite stops midway.
 */
export function chargedReplaceAll(x: ActionExecution, from: Regex, input: string, replacement: () => string): string | undefined {
  const meter = x.scope.meter;
  meter.charge(matchUnits(input.length, from.instructions));
  if (!from.test(input)) return undefined;
  return from.replaceAll(input, replacement(), (units) => meter.charge(units));
}
