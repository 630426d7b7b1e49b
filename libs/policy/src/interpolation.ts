import { isCelError } from "@bufbuild/cel";
import { type CelProblem, type CompiledExpr, type EvalScope, compileExpression } from "./cel-compile.js";
import type { CelRuntime } from "./cel-env.js";
import { celToString } from "./cel-values.js";
import type { PolicyPhase } from "./policy-error.js";

/**
 * A string field with `${expr}` interpolation, every expression compiled when the policy loads.
 * Fields without `${` cost nothing at request time.
 */
export interface Template {
  readonly source: string;
  /** The text itself when the template has no `${…}`. */
  readonly constant: string | undefined;
  /** The interpolated string. Throws `EvaluationError` if an expression fails. */
  render(scope: EvalScope): string;
  /**
   * The value: for a template that is exactly one `${expr}` the CEL value itself (so
   * `set-vars` can store a bool or a list), otherwise the interpolated string.
   */
  value(scope: EvalScope): unknown;
}

/** A failure while evaluating a compiled policy; the engine turns it into a 500 and a log record. */
export class EvaluationError extends Error {
  override readonly name = "EvaluationError";
}

type Part = { text: string } | { expr: CompiledExpr };

/** Finds the `}` closing a `${` at `start`, skipping CEL string literals and nested braces. */
function findClose(text: string, start: number): number {
  let depth = 0;
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (c === '"' || c === "'") {
      const triple = text.startsWith(c.repeat(3), i);
      const quote = triple ? c.repeat(3) : c;
      i += quote.length;
      while (i < text.length && !text.startsWith(quote, i)) i += text[i] === "\\" ? 2 : 1;
      i += quote.length - 1;
    } else if (c === "{") depth++;
    else if (c === "}") {
      if (depth === 0) return i;
      depth--;
    }
  }
  return -1;
}

/**
 * Index of the first `ch` in `source` that is literal text, not inside a `${…}`; -1 if none (or
 * if an interpolation is unterminated, which compiling the template reports).
 */
export function literalIndexOf(source: string, ch: string): number {
  let pos = 0;
  while (pos < source.length) {
    const open = source.indexOf("${", pos);
    const hit = source.indexOf(ch, pos);
    if (hit >= 0 && (open < 0 || hit < open)) return hit;
    if (open < 0) return -1;
    const close = findClose(source, open + 2);
    if (close < 0) return -1;
    pos = close + 1;
  }
  return -1;
}

/** True when `source` is exactly one `${expr}` and nothing else. */
export function isSingleInterpolation(source: string): boolean {
  return source.startsWith("${") && findClose(source, 2) === source.length - 1;
}

export type TemplateResult = { ok: true; template: Template } | { ok: false; problems: CelProblem[] };

export function evaluateExpr(expr: CompiledExpr, scope: EvalScope): unknown {
  const v = expr.evaluate(scope);
  if (isCelError(v)) throw new EvaluationError(`${expr.source}: ${v.message}`);
  return v;
}

export function compileTemplate(rt: CelRuntime, source: string, phase: PolicyPhase): TemplateResult {
  const parts: Part[] = [];
  const problems: CelProblem[] = [];
  let pos = 0;
  while (pos < source.length) {
    const open = source.indexOf("${", pos);
    if (open < 0) {
      parts.push({ text: source.slice(pos) });
      break;
    }
    if (open > pos) parts.push({ text: source.slice(pos, open) });
    const close = findClose(source, open + 2);
    if (close < 0) {
      problems.push({ offset: open, message: "unterminated ${ (missing })" });
      break;
    }
    const inner = source.slice(open + 2, close);
    if (inner.trim() === "") problems.push({ offset: open, message: "empty ${} interpolation" });
    else {
      const r = compileExpression(rt, inner, phase);
      if (r.ok) parts.push({ expr: r.expr });
      else for (const p of r.problems) problems.push({ offset: open + 2 + p.offset, message: p.message });
    }
    pos = close + 1;
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, template: makeTemplate(source, parts) };
}

function makeTemplate(source: string, parts: Part[]): Template {
  if (parts.every((p) => "text" in p)) {
    return { source, constant: source, render: () => source, value: () => source };
  }
  const render = (scope: EvalScope): string => {
    let out = "";
    for (const p of parts) out += "text" in p ? p.text : celToString(evaluateExpr(p.expr, scope));
    return out;
  };
  const only = parts.length === 1 && parts[0] && "expr" in parts[0] ? parts[0].expr : undefined;
  return {
    source,
    constant: undefined,
    render,
    value: only ? (scope) => evaluateExpr(only, scope) : render,
  };
}
