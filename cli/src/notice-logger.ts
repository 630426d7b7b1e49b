import type { Logger } from "@onramp/telemetry";
import { devNull } from "node:os";
import { format } from "node:util";
import { loggerFrom, type LogFlags } from "./log-flags.js";
import type { NoticeLevel } from "./status-view.js";

/** Receives one log line as a notice. */
export type NoticeSink = (level: NoticeLevel, text: string) => void;

const LOG_METHODS = new Set(["trace", "debug", "info", "warn", "error", "fatal"]);

/**
 * Whether log lines with these flags would land on the terminal the status screen draws on:
 * stderr (the default destination) when it is a terminal, or stdout, which the screen holds.
 * Logs to a file, or to a redirected stderr, cannot tear the screen and stay as they are.
 */
export function logsReachTerminal(flags: LogFlags, stderrIsTerminal = process.stderr.isTTY === true): boolean {
  const destination = flags.log ?? "stderr";
  return destination === "stdout" || (destination === "stderr" && stderrIsTerminal);
}

/**
 * The logger for `name` while the status screen is shown: when its lines would reach the
 * terminal, each one at the configured level becomes a notice on the screen instead (message and
 * fields on one line), since a log line written under the screen would tear it until the next
 * redraw and scroll it; otherwise the logger the flags ask for. The flags are checked either way.
 */
export function screenAwareLogger(flags: LogFlags, name: string, notice: NoticeSink | undefined): Logger {
  if (!notice || !logsReachTerminal(flags)) return loggerFrom(flags, name);
  // A real logger (levels, child(), flush() work as usual) whose own output goes nowhere.
  return noticeLogger(loggerFrom({ ...flags, log: devNull }, name), name, notice);
}

/**
 * `logger` with its log methods turned into notices: "agent: <message> key=value …" for each
 * line its level lets through; child loggers do the same. Everything else is the logger's own.
 * A Proxy rather than a pino destination: @onramp/telemetry's loggers write to file descriptors,
 * and the screen needs the lines as text.
 */
export function noticeLogger(logger: Logger, name: string, notice: NoticeSink): Logger {
  return new Proxy(logger, {
    get(target, property) {
      if (typeof property === "string" && LOG_METHODS.has(property)) {
        return (...args: unknown[]) => {
          if (target.isLevelEnabled(property)) notice(levelOf(property), `${name}: ${describe(args)}`);
        };
      }
      if (property === "child") {
        return (...args: Parameters<Logger["child"]>) => noticeLogger(target.child<never>(...args), name, notice);
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

function levelOf(method: string): NoticeLevel {
  return method === "error" || method === "fatal" ? "error" : method === "warn" ? "warn" : "info";
}

/** pino's call forms, `(fields, message, ...args)`, `(message, ...args)` and `(error, message?)`, as one line. */
export function describe(args: readonly unknown[]): string {
  const [first, ...rest] = args;
  if (typeof first === "string") return format(first, ...rest);
  const message = typeof rest[0] === "string" ? format(rest[0], ...rest.slice(1)) : first instanceof Error ? first.message : "";
  // An error alone is its message; with a message of its own, the error follows as err=….
  const fields = first instanceof Error ? (typeof rest[0] === "string" ? { err: first } : {}) : ((first ?? {}) as Record<string, unknown>);
  const pairs = Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${valueText(v)}`);
  return [message, ...pairs].filter(Boolean).join(" ");
}

function valueText(value: unknown): string {
  if (value instanceof Error) return JSON.stringify(value.message);
  if (typeof value === "string") return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (typeof value === "bigint") return String(value);
  return JSON.stringify(value) ?? String(value);
}
