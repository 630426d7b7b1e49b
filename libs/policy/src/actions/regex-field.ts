import type { ConfigReader } from "../config-reader.js";
import { type Regex, compileRegex } from "../regex.js";

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
  return r.regex;
}
