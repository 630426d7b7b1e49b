import type { LineCounter, Node } from "yaml";
import { isScalar } from "yaml";

/** The three phases of an ngrok traffic policy document, in the order traffic meets them. */
export type PolicyPhase = "on_tcp_connect" | "on_http_request" | "on_http_response";

/**
 * One problem found while loading a policy. Loading collects every problem before giving up, so a
 * user fixes a policy in one round trip instead of one error at a time.
 */
export interface PolicyError {
  readonly severity: "error" | "warning";
  /** What is wrong, without the location (that is in the other fields). */
  readonly message: string;
  /** Path from the document root, e.g. `on_http_request[2].actions[0].config.rate`. */
  readonly path: string;
  readonly phase?: PolicyPhase;
  readonly ruleIndex?: number;
  readonly ruleName?: string;
  /** Path inside the rule, e.g. `actions[0].config.rate`; empty when the rule itself is at fault. */
  readonly field?: string;
  /** 1-based line and column in the source text. */
  readonly line: number;
  readonly column: number;
  readonly filename: string;
}

/**
 * Formats errors one per line, compiler style:
 * `policy.yml:12:9: on_http_request[1] "rate limit": actions[0].config.capacity: must be an integer ≥ 1`.
 */
export function formatPolicyErrors(errors: readonly PolicyError[]): string {
  return errors.map(formatPolicyError).join("\n");
}

function formatPolicyError(e: PolicyError): string {
  const where = `${e.filename}:${e.line}:${e.column}: ${e.severity === "warning" ? "warning: " : ""}`;
  if (e.phase !== undefined && e.ruleIndex !== undefined) {
    const rule = `${e.phase}[${e.ruleIndex}]${e.ruleName ? ` ${JSON.stringify(e.ruleName)}` : ""}`;
    return e.field ? `${where}${rule}: ${e.field}: ${e.message}` : `${where}${rule}: ${e.message}`;
  }
  return e.path ? `${where}${e.path}: ${e.message}` : `${where}${e.message}`;
}

/** Which rule a diagnostic belongs to. */
export interface RuleScope {
  readonly phase: PolicyPhase;
  readonly index: number;
  readonly name: string | undefined;
}

/** Collects errors and warnings for one load, resolving source offsets to line:column. */
export class Diagnostics {
  readonly errors: PolicyError[] = [];
  readonly warnings: PolicyError[] = [];

  constructor(
    readonly filename: string,
    readonly source: string,
    private readonly lines: LineCounter,
  ) {}

  add(severity: "error" | "warning", offset: number, message: string, path: string, rule?: RuleScope, field?: string): void {
    const { line, col } = this.lines.linePos(Math.max(0, Math.min(offset, this.source.length)));
    const base = { severity, message, path, line, column: col, filename: this.filename };
    const error: PolicyError = rule
      ? { ...base, phase: rule.phase, ruleIndex: rule.index, ruleName: rule.name, field: field ?? "" }
      : base;
    (severity === "error" ? this.errors : this.warnings).push(error);
  }
}

/**
 * A position in the document being validated: a path for the message and a YAML node for the
 * line:column. Children that are missing from the document point at their parent's node.
 */
export class Cursor {
  constructor(
    private readonly diag: Diagnostics,
    readonly rule: RuleScope | undefined,
    /** Path of the rule (`on_http_request[1]`) or empty outside rules. */
    private readonly root: string,
    /** Path relative to `root`. */
    readonly field: string,
    readonly node: Node | null | undefined,
    private readonly fallbackOffset: number,
  ) {}

  static root(diag: Diagnostics): Cursor {
    return new Cursor(diag, undefined, "", "", undefined, 0);
  }

  get path(): string {
    if (!this.root) return this.field;
    if (!this.field) return this.root;
    return this.field.startsWith("[") ? `${this.root}${this.field}` : `${this.root}.${this.field}`;
  }

  get offset(): number {
    return this.node?.range?.[0] ?? this.fallbackOffset;
  }

  /** A cursor for rule `index` of `phase`; paths below it are relative to the rule. */
  enterRule(rule: RuleScope, node: Node | null | undefined): Cursor {
    return new Cursor(this.diag, rule, `${rule.phase}[${rule.index}]`, "", node, node?.range?.[0] ?? this.offset);
  }

  key(name: string, node: Node | null | undefined, keyNode?: Node | null): Cursor {
    const field = this.field ? `${this.field}.${name}` : name;
    return new Cursor(this.diag, this.rule, this.root, field, node ?? keyNode, this.offset);
  }

  index(i: number, node: Node | null | undefined): Cursor {
    return new Cursor(this.diag, this.rule, this.root, `${this.field}[${i}]`, node, this.offset);
  }

  /** Same path, positioned at another node (e.g. a map key rather than its value). */
  at(node: Node | null | undefined): Cursor {
    return new Cursor(this.diag, this.rule, this.root, this.field, node ?? this.node, this.offset);
  }

  /** Reports an error; `innerOffset` points inside a string scalar (e.g. a CEL parse error column). */
  error(message: string, innerOffset?: number): void {
    this.diag.add("error", this.resolve(innerOffset), message, this.path, this.rule, this.field);
  }

  warn(message: string): void {
    this.diag.add("warning", this.resolve(undefined), message, this.path, this.rule, this.field);
  }

  private resolve(innerOffset: number | undefined): number {
    const start = this.offset;
    if (innerOffset === undefined || !isScalar(this.node) || typeof this.node.value !== "string") return start;
    // Only plain and single-line quoted scalars map 1:1 onto the source; block scalars, escapes and
    // folded lines do not, and for those the start of the value is the honest answer.
    const value = this.node.value;
    const contentStart = this.node.type === "PLAIN" ? start : start + 1;
    const exact = this.diag.source.slice(contentStart, contentStart + value.length) === value;
    return exact ? contentStart + Math.min(innerOffset, value.length) : start;
  }
}
