import type { ActionExecution } from "../action-types.js";
import type { ConfigReader } from "../config-reader.js";
import { type Regex, compileRegex } from "../regex.js";
import { matchUnits } from "../regex-cost.js";

/** Reads an RE2 pattern field (`from`), reporting a bad pattern at the field. */
export function readRegex(config: ConfigReader, key: string, required: boolean): Regex | undefined {
  const n = config.node(key, required);
  if (!n) return undefined;
  const pattern = config.string(key);
  if (pattern === undefined) return undefined;
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
  return r.regex;
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
