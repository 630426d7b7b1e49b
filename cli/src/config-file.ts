import { ErrorCode, OnrampError } from "@onramp/errors";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parseDocument, stringify } from "yaml";

/**
 * Reads a YAML config file into a plain object. Keys are snake_case versions of the long flags
 * (`http_addr` for `--http-addr`); unknown keys are errors naming the key and its line.
 */
export function loadConfigFile(path: string, allowed: readonly string[]): Record<string, unknown> {
  const text = readTextFile(path, "config file");
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new OnrampError(ErrorCode.InvalidArgument, `${path}: ${doc.errors.map((e) => e.message).join("; ")}`);
  }
  const value = doc.toJS() as unknown;
  if (value === null || value === undefined) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new OnrampError(ErrorCode.InvalidArgument, `${path}: the top level must be a mapping of settings`);
  }
  const known = new Set(allowed);
  for (const key of Object.keys(value)) {
    if (!known.has(key)) {
      const line = lineOf(text, key);
      throw new OnrampError(ErrorCode.InvalidArgument, `${path}${line ? `:${line}` : ""}: unknown setting ${JSON.stringify(key)} (known: ${allowed.join(", ")})`);
    }
  }
  return value as Record<string, unknown>;
}

function lineOf(text: string, key: string): number | undefined {
  const i = text.split("\n").findIndex((l) => l.startsWith(`${key}:`) || l.startsWith(`"${key}":`));
  return i >= 0 ? i + 1 : undefined;
}

/** Reads a file named by a flag, with an error that names the flag and the path. */
export function readTextFile(path: string, what: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw new OnrampError(ErrorCode.InvalidArgument, `cannot read ${what} ${path}: ${(err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message}`, { cause: err });
  }
}

/**
 * The traffic policy of a config entry, as text: `traffic_policy_file` (relative to the config
 * file), `traffic_policy` as YAML text, or `traffic_policy` as a nested mapping. Returns the text
 * and the name to report errors under.
 */
export function policyTextOf(entry: Record<string, unknown>, configPath: string, where: string): { text: string; source: string } | undefined {
  if (entry.traffic_policy_file !== undefined) {
    const file = resolve(dirname(configPath), String(entry.traffic_policy_file));
    return { text: readTextFile(file, `${where}.traffic_policy_file`), source: file };
  }
  if (typeof entry.traffic_policy === "string") return { text: entry.traffic_policy, source: `${where}.traffic_policy` };
  if (entry.traffic_policy !== undefined && entry.traffic_policy !== null) {
    return { text: stringify(entry.traffic_policy), source: `${where}.traffic_policy` };
  }
  return undefined;
}
