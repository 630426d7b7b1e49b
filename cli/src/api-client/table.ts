/** One column of a table: its header and how a row shows in it. */
export interface Column<T> {
  readonly header: string;
  readonly value: (row: T) => string;
}

/** Three spaces between columns, as kubectl and docker print them. */
const GAP = "   ";

/**
 * Rows under upper-case headers, each column as wide as its widest cell, no trailing spaces;
 * one line per row, each ending in a newline.
 */
export function renderTable<T>(columns: readonly Column<T>[], rows: readonly T[]): string {
  const cells = [columns.map((c) => c.header), ...rows.map((row) => columns.map((c) => cell(c.value(row))))];
  return alignRows(cells);
}

/** A single record as `LABEL   value` lines, labels aligned. */
export function renderDetails(fields: readonly (readonly [label: string, value: string])[]): string {
  return alignRows(fields.map(([label, value]) => [label, cell(value)]));
}

function alignRows(rows: readonly string[][]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((text, i) => (widths[i] = Math.max(widths[i] ?? 0, text.length)));
  return rows.map((row) => `${row.map((text, i) => (i === row.length - 1 ? text : text.padEnd(widths[i] ?? 0))).join(GAP).trimEnd()}\n`).join("");
}

const ESCAPES: Record<string, string> = { "\t": " ", "\n": "\\n", "\r": "\\r" };

/**
 * A value as one table cell: "-" when empty, and control characters shown escaped, so a
 * description written through the API can neither break the columns nor send terminal escapes.
 */
export function cell(value: string): string {
  return value === "" ? "-" : value.replace(/[\u0000-\u001f\u007f-\u009f]/g, escape);
}

/** Multi-line text (a traffic policy) with every control character but newline and tab shown escaped. */
export function printable(value: string): string {
  return value.replace(/\r\n/g, "\n").replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, escape);
}

function escape(c: string): string {
  return ESCAPES[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`;
}

/** An RFC 3339 time from the API, to the second: `2025-03-01T12:00:00Z`. Anything else as is. */
export function shortTime(value: unknown): string {
  if (typeof value !== "string") return "";
  return value.replace(/^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.\d+(Z|[+-]\d\d:\d\d)$/, "$1$2");
}

/** A field from a JSON record as text: "" when absent, numbers and booleans as written. */
export function text(value: unknown): string {
  if (value === undefined || value === null) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}
