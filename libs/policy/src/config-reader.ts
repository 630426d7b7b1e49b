import { type Node, type Pair, type YAMLMap, isMap, isScalar, isSeq } from "yaml";
import { type CompiledExpr, type Expected, compileExpression } from "./cel-compile.js";
import type { CelRuntime } from "./cel-env.js";
import { formatDuration, parseDuration } from "./duration.js";
import { type Template, compileTemplate } from "./interpolation.js";
import type { Cursor, PolicyPhase } from "./policy-error.js";

/** What compiling one action needs besides its config. */
export interface CompileContext {
  readonly cel: CelRuntime;
  readonly phase: PolicyPhase;
}

/** A scalar or collection read from the document, with where it came from. */
export interface Located<T> {
  readonly value: T;
  readonly cursor: Cursor;
}

function describe(node: Node | null | undefined): string {
  if (node === null || node === undefined) return "null";
  if (isMap(node)) return "a map";
  if (isSeq(node)) return "a list";
  if (isScalar(node)) {
    const v = node.value;
    if (v === null) return "null";
    return typeof v === "string" ? `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}` : `${typeof v} ${String(v)}`;
  }
  return "an unsupported value";
}

/** Reads a string scalar, reporting anything else. */
export function readString(cursor: Cursor, node: Node | null | undefined): string | undefined {
  if (isScalar(node) && typeof node.value === "string") return node.value;
  cursor.error(`must be a string, got ${describe(node)}`);
  return undefined;
}

/** Compiles a CEL expression held in a string scalar, reporting errors at their column. */
export function readExpression(cx: CompileContext, cursor: Cursor, node: Node | null | undefined, expected: Expected = "any"): CompiledExpr | undefined {
  const text = readString(cursor, node);
  if (text === undefined) return undefined;
  const r = compileExpression(cx.cel, text, cx.phase, expected);
  if (r.ok) return r.expr;
  for (const p of r.problems) cursor.error(p.message, p.offset);
  return undefined;
}

/** Compiles a `${…}`-interpolated string scalar. */
export function readTemplate(cx: CompileContext, cursor: Cursor, node: Node | null | undefined): Template | undefined {
  const text = readString(cursor, node);
  if (text === undefined) return undefined;
  const r = compileTemplate(cx.cel, text, cx.phase);
  if (r.ok) return r.template;
  for (const p of r.problems) cursor.error(p.message, p.offset);
  return undefined;
}

/**
 * Typed access to one YAML map (an action's `config` or an object inside it). Every accessor
 * records the key as known and reports a wrong type, a missing required field or an out-of-range
 * value; `finish()` reports the keys nobody asked for. Accessors return undefined after an error
 * so compilation continues and finds the next problem too.
 */
export class ConfigReader {
  private readonly pairs = new Map<string, Pair<Node, Node | null>>();
  private readonly known = new Set<string>();

  constructor(
    readonly cx: CompileContext,
    readonly cursor: Cursor,
    map: YAMLMap<Node, Node | null> | undefined,
  ) {
    for (const pair of map?.items ?? []) {
      if (isScalar(pair.key)) this.pairs.set(String(pair.key.value), pair);
    }
  }

  /** Wraps a node expected to be a map; reports and returns undefined otherwise. */
  static of(cx: CompileContext, cursor: Cursor, node: Node | null | undefined, optional = false): ConfigReader | undefined {
    if ((node === null || node === undefined || (isScalar(node) && node.value === null)) && optional) {
      return new ConfigReader(cx, cursor, undefined);
    }
    if (isMap(node)) return new ConfigReader(cx, cursor, node as YAMLMap<Node, Node | null>);
    cursor.error(`must be a map, got ${describe(node)}`);
    return undefined;
  }

  has(key: string): boolean {
    return this.pairs.has(key);
  }

  /** The raw node of `key` and its cursor, or undefined (reporting if required). */
  node(key: string, required = false): Located<Node | null> | undefined {
    this.known.add(key);
    const pair = this.pairs.get(key);
    const cursor = this.cursor.key(key, pair?.value, pair?.key);
    if (!pair || pair.value === null || (isScalar(pair.value) && pair.value.value === null)) {
      if (required) cursor.error("is required");
      return undefined;
    }
    return { value: pair.value, cursor };
  }

  string(key: string, opts: { required?: boolean; oneOf?: readonly string[] } = {}): string | undefined {
    const n = this.node(key, opts.required);
    if (!n) return undefined;
    const s = readString(n.cursor, n.value);
    if (s !== undefined && opts.oneOf && !opts.oneOf.includes(s)) {
      n.cursor.error(`must be one of ${opts.oneOf.map((o) => JSON.stringify(o)).join(", ")}, got ${JSON.stringify(s)}`);
      return undefined;
    }
    return s;
  }

  int(key: string, opts: { required?: boolean; min: number; max: number }): number | undefined {
    const n = this.node(key, opts.required);
    if (!n) return undefined;
    const v = isScalar(n.value) ? n.value.value : undefined;
    const problem = rangeProblem("an integer", v, opts.min, opts.max, (x) => Number.isInteger(x));
    if (problem) {
      n.cursor.error(`${problem}, got ${describe(n.value)}`);
      return undefined;
    }
    return v as number;
  }

  number(key: string, opts: { required?: boolean; min: number; max: number }): number | undefined {
    const n = this.node(key, opts.required);
    if (!n) return undefined;
    const v = isScalar(n.value) ? n.value.value : undefined;
    const problem = rangeProblem("a number", v, opts.min, opts.max, (x) => Number.isFinite(x));
    if (problem) {
      n.cursor.error(`${problem}, got ${describe(n.value)}`);
      return undefined;
    }
    return v as number;
  }

  bool(key: string, fallback: boolean): boolean {
    const n = this.node(key);
    if (!n) return fallback;
    const v = isScalar(n.value) ? n.value.value : undefined;
    if (typeof v === "boolean") return v;
    n.cursor.error(`must be true or false, got ${describe(n.value)}`);
    return fallback;
  }

  /** A Go-style duration string (`"30s"`, `"1m"`), returned in milliseconds. */
  duration(key: string, opts: { required?: boolean; min: number; max: number }): number | undefined {
    const n = this.node(key, opts.required);
    if (!n) return undefined;
    const text = readString(n.cursor, n.value);
    if (text === undefined) return undefined;
    const ms = parseDuration(text);
    if (ms === undefined) {
      n.cursor.error(`must be a duration like "30s", "1m" or "1h", got ${JSON.stringify(text)}`);
      return undefined;
    }
    if (ms < opts.min || ms > opts.max) {
      n.cursor.error(`must be between ${formatDuration(opts.min)} and ${formatDuration(opts.max)}, got ${JSON.stringify(text)}`);
      return undefined;
    }
    return ms;
  }

  /** A list; each element is handed back with its own cursor (`field[i]`). */
  list(key: string, opts: { required?: boolean; min?: number; max?: number } = {}): Array<Located<Node | null>> | undefined {
    const n = this.node(key, opts.required);
    if (!n) return undefined;
    if (!isSeq(n.value)) {
      n.cursor.error(`must be a list, got ${describe(n.value)}`);
      return undefined;
    }
    const items = n.value.items as Array<Node | null>;
    if (opts.min !== undefined && items.length < opts.min) {
      n.cursor.error(`must have at least ${opts.min} ${opts.min === 1 ? "entry" : "entries"}`);
    }
    if (opts.max !== undefined && items.length > opts.max) n.cursor.error(`must have at most ${opts.max} entries`);
    return items.map((item, i) => ({ value: item, cursor: n.cursor.index(i, item) }));
  }

  stringList(key: string, opts: { required?: boolean; min?: number; max?: number } = {}): Array<Located<string>> | undefined {
    const items = this.list(key, opts);
    if (!items) return undefined;
    const out: Array<Located<string>> = [];
    for (const item of items) {
      const s = readString(item.cursor, item.value);
      if (s !== undefined) out.push({ value: s, cursor: item.cursor });
    }
    return out;
  }

  template(key: string, opts: { required?: boolean } = {}): Template | undefined {
    const n = this.node(key, opts.required);
    return n ? readTemplate(this.cx, n.cursor, n.value) : undefined;
  }

  /** A map of name → interpolated string, e.g. `headers`. */
  templateMap(key: string, opts: { required?: boolean } = {}): Array<Located<[string, Template]>> | undefined {
    const n = this.node(key, opts.required);
    if (!n) return undefined;
    const reader = ConfigReader.of(this.cx, n.cursor, n.value);
    if (!reader) return undefined;
    const out: Array<Located<[string, Template]>> = [];
    for (const name of reader.pairs.keys()) {
      const entry = reader.node(name);
      const t = entry ? readTemplate(this.cx, entry.cursor, entry.value) : undefined;
      if (entry && t) out.push({ value: [name, t], cursor: entry.cursor.at(reader.pairs.get(name)?.key) });
    }
    return out;
  }

  /** A nested object, as its own reader; call `finish()` on it too. */
  object(key: string, opts: { required?: boolean } = {}): ConfigReader | undefined {
    const n = this.node(key, opts.required);
    return n ? ConfigReader.of(this.cx, n.cursor, n.value) : undefined;
  }

  /** Keys of the map, for free-form maps such as `metadata`. */
  keys(): string[] {
    return [...this.pairs.keys()];
  }

  /** Reports every key that no accessor read. */
  finish(): void {
    for (const [name, pair] of this.pairs) {
      if (!this.known.has(name)) {
        const expected = [...this.known].join(", ");
        this.cursor.key(name, pair.key).error(`unknown field${expected ? ` (expected one of: ${expected})` : ""}`);
      }
    }
  }
}

const big = (n: number): string => (Math.abs(n) >= 1e6 ? n.toLocaleString("en-US") : String(n));

function rangeProblem(kind: string, v: unknown, min: number, max: number, ok: (x: number) => boolean): string | undefined {
  if (typeof v !== "number" || !ok(v)) return `must be ${kind} between ${big(min)} and ${big(max)}`;
  if (v < min) return `must be ${kind} ≥ ${big(min)}`;
  if (v > max) return `must be ${kind} ≤ ${big(max)}`;
  return undefined;
}
