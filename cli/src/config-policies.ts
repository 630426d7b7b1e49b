import { loadPolicy, type PolicyError } from "@onramp/policy";
import { readFileSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";
import { isMap, isScalar, isSeq, Scalar, stringify, type Node } from "yaml";
import type { ConfigProblems } from "./config-problems.js";

/**
 * A traffic policy an endpoint of the agent config refers to: inline (`traffic_policy:` as a
 * mapping or as YAML text) or in a file (`traffic_policy_file:`, relative to the config file).
 */
export interface ConfigPolicy {
  /** What the agent sends the edge. */
  readonly text: string;
  /** The file errors point into: the policy file, or the config file for an inline policy. */
  readonly filename: string;
  /**
   * The policy as a check reads it, laid out so the loader's line:column are positions in
   * `filename`: for an inline policy, the config file with everything but the policy blanked.
   */
  readonly positioned: string;
  /** Added to the line and, on the first line, to the column of each error (one-line quoted policies). */
  readonly shift: { readonly lines: number; readonly firstLineColumns: number };
}

/** Where a config file is and what it says, for reading the policies in it. */
export interface ConfigSource {
  readonly path: string;
  readonly text: string;
}

/** The policy of one endpoint entry, given its `traffic_policy` and `traffic_policy_file` values. */
export function readConfigPolicy(
  source: ConfigSource,
  inline: Node | null | undefined,
  file: Node | null | undefined,
  where: string,
  problems: ConfigProblems,
): ConfigPolicy | undefined {
  const none = (n: Node | null | undefined) => n === undefined || n === null || (isScalar(n) && n.value === null);
  if (!none(inline) && !none(file)) {
    problems.at(file, `${where}: give traffic_policy or traffic_policy_file, not both`);
    return undefined;
  }
  if (!none(file)) return fromFile(source, file!, where, problems);
  if (none(inline)) return undefined;
  if (isMap(inline) || isSeq(inline)) {
    return { text: stringify(inline!.toJSON()), filename: source.path, positioned: keepOnly(source.text, inline!.range![0], inline!.range![2]), shift: noShift };
  }
  if (isScalar(inline) && typeof inline.value === "string") return fromText(source, inline);
  problems.at(inline, `${where}.traffic_policy: must be a mapping (the policy itself) or YAML text`);
  return undefined;
}

/** Loads a config policy as the edge would; errors and warnings carry positions in the file they are in. */
export function checkConfigPolicy(policy: ConfigPolicy): { errors: PolicyError[]; warnings: PolicyError[] } {
  const result = loadPolicy(policy.positioned, { filename: policy.filename });
  const { lines, firstLineColumns } = policy.shift;
  const place = (errors: readonly PolicyError[]) => errors.map((e) => ({ ...e, line: e.line + lines, column: e.line === 1 ? e.column + firstLineColumns : e.column }));
  return { errors: result.ok ? [] : place(result.errors), warnings: place(result.warnings) };
}

const noShift = { lines: 0, firstLineColumns: 0 };

function fromFile(source: ConfigSource, node: Node, where: string, problems: ConfigProblems): ConfigPolicy | undefined {
  if (!isScalar(node) || typeof node.value !== "string" || node.value === "") {
    problems.at(node, `${where}.traffic_policy_file: must be a file name`);
    return undefined;
  }
  const filename = isAbsolute(node.value) ? node.value : join(dirname(source.path), node.value);
  try {
    const text = readFileSync(filename, "utf8");
    return { text, filename, positioned: text, shift: noShift };
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (err as Error).message;
    problems.at(node, `${where}.traffic_policy_file: cannot read ${filename}: ${why}`);
    return undefined;
  }
}

/** A policy written as YAML text in the config: `traffic_policy: |` and its lines, or a quoted one-liner. */
function fromText(source: ConfigSource, node: Scalar): ConfigPolicy {
  const text = node.value as string;
  const [start, end] = [node.range![0], node.range![2]];
  if (node.type === Scalar.BLOCK_LITERAL || node.type === Scalar.BLOCK_FOLDED) {
    // The block's lines are the policy at its own indentation; only the `|` header line goes.
    const body = source.text.indexOf("\n", start) + 1;
    return { text, filename: source.path, positioned: keepOnly(source.text, body, end), shift: noShift };
  }
  const quoted = node.type === Scalar.QUOTE_DOUBLE || node.type === Scalar.QUOTE_SINGLE ? 1 : 0;
  const before = source.text.slice(0, start);
  const lines = before.split("\n").length - 1;
  const column = start - (before.lastIndexOf("\n") + 1) + quoted;
  return { text, filename: source.path, positioned: text, shift: { lines, firstLineColumns: column } };
}

/** `text` with every character outside [from, to) but newlines turned to spaces: positions stay put. */
function keepOnly(text: string, from: number, to: number): string {
  const blank = (s: string) => s.replace(/[^\n]/g, " ");
  return blank(text.slice(0, from)) + text.slice(from, to) + blank(text.slice(to));
}
