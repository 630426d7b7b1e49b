/**
 * Line formats for pino's JSON records, for people rather than log shippers: `logfmt`
 * (key=value, as Heroku and Grafana Loki read it) and `pretty` (time, level, name, message, fields).
 * Our own, so the CLI needs no pino-pretty.
 */

/** A pino record as parsed from its JSON line. */
export type LogRecord = Record<string, unknown>;

/** pino's numeric levels. */
const LEVEL_NAMES: Record<number, string> = { 10: "trace", 20: "debug", 30: "info", 40: "warn", 50: "error", 60: "fatal" };

/** Fields every format places itself; the rest follow in the order the logger wrote them. */
const PLACED = new Set(["time", "level", "name", "msg"]);

/** `time=2026-01-02T03:04:05.678Z level=warn name=agent msg="lost the edge" edge=127.0.0.1:4443 pid=42` */
export function formatLogfmt(record: LogRecord): string {
  const pairs: string[] = [];
  if (record.time !== undefined) pairs.push(`time=${logfmtValue(isoTime(record.time))}`);
  pairs.push(`level=${levelName(record.level)}`);
  if (record.name !== undefined) pairs.push(`name=${logfmtValue(record.name)}`);
  if (record.msg !== undefined) pairs.push(`msg=${logfmtValue(record.msg)}`);
  for (const [key, value] of Object.entries(record)) {
    if (!PLACED.has(key) && value !== undefined) pairs.push(`${logfmtKey(key)}=${logfmtValue(value)}`);
  }
  return pairs.join(" ");
}

/**
 * `17:04:05.678 WARN  agent: lost the edge edge=127.0.0.1:4443`: local time, as a terminal user
 * reads it; no pid or hostname, which say nothing to someone watching one process.
 */
export function formatTerm(record: LogRecord, options: { color: boolean }): string {
  const level = levelName(record.level);
  const label = level.toUpperCase().padEnd(5);
  const head = [
    localTime(record.time),
    options.color ? `${LEVEL_COLORS[level] ?? ""}${label}\x1b[0m` : label,
    record.name === undefined ? String(record.msg ?? "") : `${String(record.name)}: ${String(record.msg ?? "")}`,
  ];
  const fields: string[] = [];
  for (const [key, value] of Object.entries(record)) {
    if (PLACED.has(key) || key === "pid" || key === "hostname" || value === undefined) continue;
    fields.push(`${logfmtKey(key)}=${logfmtValue(value)}`);
  }
  const line = `${head.join(" ")}${fields.length > 0 ? ` ${fields.join(" ")}` : ""}`;
  const stack = errorStack(record);
  return stack ? `${line}\n${stack}` : line;
}

/** ANSI colors for the level label; dim for the chatty levels, red for the ones that need a look. */
const LEVEL_COLORS: Record<string, string> = {
  trace: "\x1b[90m",
  debug: "\x1b[90m",
  info: "\x1b[32m",
  warn: "\x1b[33m",
  error: "\x1b[31m",
  fatal: "\x1b[41m",
};

function levelName(level: unknown): string {
  return typeof level === "number" ? (LEVEL_NAMES[level] ?? String(level)) : String(level);
}

function isoTime(time: unknown): unknown {
  return typeof time === "number" ? new Date(time).toISOString() : time;
}

function localTime(time: unknown): string {
  const d = typeof time === "number" ? new Date(time) : new Date();
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, "0")}`;
}

/** Keys are written as they are unless they hold characters logfmt reserves. */
function logfmtKey(key: string): string {
  return /^[^\s="]+$/.test(key) ? key : JSON.stringify(key);
}

/**
 * Bare when the value has no space, quote, `=` or control character; JSON-quoted otherwise
 * (which escapes `"`, `\` and newlines). An error pino serialized (`err`) becomes its message;
 * other objects their JSON.
 */
function logfmtValue(value: unknown): string {
  let text: string;
  if (typeof value === "string") text = value;
  else if (typeof value === "number" || typeof value === "boolean" || value === null) return String(value);
  else if (isSerializedError(value)) text = value.message;
  else text = JSON.stringify(value) ?? String(value);
  return text !== "" && /^[^\s="\\\x00-\x1f\x7f]+$/.test(text) ? text : JSON.stringify(text);
}

function isSerializedError(value: unknown): value is { message: string; stack?: string } {
  return typeof value === "object" && value !== null && typeof (value as { message?: unknown }).message === "string" && "stack" in value;
}

/** The stack of an `err` field, indented under the line, so a terminal shows where it came from. */
function errorStack(record: LogRecord): string | undefined {
  const err = record.err;
  if (!isSerializedError(err) || typeof err.stack !== "string") return undefined;
  return err.stack
    .split("\n")
    .map((l) => `    ${l}`)
    .join("\n");
}
