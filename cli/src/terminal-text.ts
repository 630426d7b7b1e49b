/**
 * Text for a full-screen terminal view: lines made of styled spans, measured in terminal columns,
 * cut to a width, and painted with SGR colors only at the end, so escape codes never count towards
 * a width and a line never wraps (a wrapped line would scroll the whole screen by one).
 */

export type Style = "bold" | "dim" | "green" | "yellow" | "red" | "cyan";

export interface Span {
  readonly text: string;
  readonly style?: Style;
}

/** One screen line. */
export type Line = readonly Span[];

const SGR: Record<Style, string> = { bold: "1", dim: "2", green: "32", yellow: "33", red: "31", cyan: "36" };

export function span(text: string, style?: Style): Span {
  return style ? { text, style } : { text };
}

/**
 * `text` safe to print: control characters (C0, DEL, C1) become "?". Paths, notices and edge
 * messages come from the network; an ESC among them would otherwise move the cursor or recolor
 * the screen.
 */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, "?");
}

/**
 * Columns one code point takes: 2 for East Asian wide and fullwidth characters and the common
 * emoji blocks, 1 otherwise. An approximation of wcwidth(3) that is right for what a request
 * list shows; combining marks count 1, which at worst ends a line one column early.
 */
function columnsOf(codePoint: number): number {
  const wide =
    (codePoint >= 0x1100 && codePoint <= 0x115f) ||
    (codePoint >= 0x2e80 && codePoint <= 0xa4cf) ||
    (codePoint >= 0xac00 && codePoint <= 0xd7a3) ||
    (codePoint >= 0xf900 && codePoint <= 0xfaff) ||
    (codePoint >= 0xfe30 && codePoint <= 0xfe4f) ||
    (codePoint >= 0xff00 && codePoint <= 0xff60) ||
    (codePoint >= 0xffe0 && codePoint <= 0xffe6) ||
    (codePoint >= 0x1f300 && codePoint <= 0x1f64f) ||
    (codePoint >= 0x1f900 && codePoint <= 0x1f9ff) ||
    (codePoint >= 0x20000 && codePoint <= 0x3fffd);
  return wide ? 2 : 1;
}

/** Columns `text` takes on a terminal. */
export function widthOf(text: string): number {
  let width = 0;
  for (const ch of text) width += columnsOf(ch.codePointAt(0)!);
  return width;
}

/** `text` cut to at most `width` columns, ending in "…" when something was cut. */
export function truncate(text: string, width: number): string {
  if (widthOf(text) <= width) return text;
  if (width <= 0) return "";
  let out = "";
  let used = 0;
  for (const ch of text) {
    const w = columnsOf(ch.codePointAt(0)!);
    if (used + w > width - 1) break;
    out += ch;
    used += w;
  }
  return `${out}…`;
}

/** `text` cut or padded with spaces to exactly `width` columns. */
export function fit(text: string, width: number): string {
  const cut = truncate(text, width);
  return cut + " ".repeat(Math.max(0, width - widthOf(cut)));
}

/** `text` padded on the left to `width` columns (numbers in a column); never cut. */
export function padStart(text: string, width: number): string {
  return " ".repeat(Math.max(0, width - widthOf(text))) + text;
}

/** The line's text without styles, e.g. for tests. */
export function plainText(line: Line): string {
  return line.map((s) => s.text).join("");
}

/** The line cut to `width` columns, styles kept; a cut line ends in "…". */
export function fitLine(line: Line, width: number): Line {
  if (widthOf(plainText(line)) <= width) return line;
  if (width <= 0) return [];
  const out: Span[] = [];
  let left = width - 1;
  for (const s of line) {
    let text = "";
    for (const ch of s.text) {
      const w = columnsOf(ch.codePointAt(0)!);
      if (w > left) break;
      text += ch;
      left -= w;
    }
    if (text !== s.text) {
      out.push({ ...s, text: `${text}…` });
      break;
    }
    out.push(s);
  }
  return out;
}

/** The line as terminal output: SGR codes around styled spans when `color`, plain text otherwise. */
export function paint(line: Line, color: boolean): string {
  return line.map((s) => (color && s.style && s.text ? `\u001b[${SGR[s.style]}m${s.text}\u001b[0m` : s.text)).join("");
}
