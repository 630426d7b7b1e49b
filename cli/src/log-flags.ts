import { ErrorCode, OnrampError } from "@onramp/errors";
import { createLogger, type LogDestination, type LogFormat, type Logger, type LogLevel } from "@onramp/telemetry";
import type { Command } from "commander";

/** The log flags as commander hands them over (or as a config file gives them, see logFlagsFromConfig). */
export interface LogFlags {
  logLevel?: string;
  log?: string;
  logFormat?: string;
}

/** The levels offered: pino's, less `fatal`, which Onramp never logs at. */
export const LOG_LEVELS: readonly LogLevel[] = ["trace", "debug", "info", "warn", "error", "silent"];
export const LOG_FORMATS: readonly LogFormat[] = ["pretty", "logfmt", "json"];

/**
 * Adds --log-level, --log and --log-format. None has a commander default, so a config file can
 * fill in; `defaultLevel` is only for the help text and must match the one given to loggerFrom.
 */
export function addLogFlags(command: Command, defaultLevel: LogLevel = "warn"): Command {
  return command
    .option("--log-level <level>", `${LOG_LEVELS.join(", ")} (default ${defaultLevel})`)
    .option("--log <destination>", "where logs go: stderr, stdout, or a file to append to (default stderr; ./stdout for a file of that name)")
    .option("--log-format <format>", "pretty, logfmt or json (default: pretty when logging to a terminal, else json)");
}

/**
 * The logger the flags ask for; values are checked here and errors name the flag. A file that
 * cannot be opened for appending is an error now, not a lost log later.
 */
export function loggerFrom(flags: LogFlags, name: string, defaultLevel: LogLevel = "warn"): Logger {
  const level = flags.logLevel === undefined ? defaultLevel : parseLogLevel("--log-level", flags.logLevel);
  const destination = flags.log === undefined ? "stderr" : parseLogDestination("--log", flags.log);
  const format = flags.logFormat === undefined ? undefined : parseLogFormat("--log-format", flags.logFormat);
  try {
    return createLogger({ level, name, destination, format });
  } catch (err) {
    const file = typeof destination === "object" ? destination.file : String(destination);
    const why = (err as NodeJS.ErrnoException).code === "ENOENT" ? "no such directory" : (err as NodeJS.ErrnoException).code === "EACCES" ? "permission denied" : (err as Error).message;
    throw new OnrampError(ErrorCode.InvalidArgument, `--log: cannot append to ${file}: ${why}`, { cause: err });
  }
}

/**
 * `log_level`, `log` and `log_format` from a config file, checked and named by key, as LogFlags
 * for the flags to override: `loggerFrom({ ...logFlagsFromConfig(config), ...givenFlags }, name)`.
 */
export function logFlagsFromConfig(config: Record<string, unknown>): LogFlags {
  const flags: LogFlags = {};
  if (config.log_level !== undefined) flags.logLevel = parseLogLevel("log_level", config.log_level);
  if (config.log !== undefined) {
    const destination = parseLogDestination("log", config.log);
    flags.log = typeof destination === "object" ? destination.file : destination;
  }
  if (config.log_format !== undefined) flags.logFormat = parseLogFormat("log_format", config.log_format);
  return flags;
}

/** A level, case aside; anything else is an error naming `where` and listing the levels. */
export function parseLogLevel(where: string, value: unknown): LogLevel {
  return oneOf(where, value, LOG_LEVELS);
}

export function parseLogFormat(where: string, value: unknown): LogFormat {
  // `term` was this format's name before ngrok's `pretty` was adopted; configs may still say it.
  if (typeof value === "string" && value.trim().toLowerCase() === "term") return "pretty";
  return oneOf(where, value, LOG_FORMATS);
}

/** "stdout", "stderr", or a file path (relative to the working directory). */
export function parseLogDestination(where: string, value: unknown): LogDestination {
  if (typeof value !== "string" || value.trim() === "") {
    throw new OnrampError(ErrorCode.InvalidArgument, `${where}: ${JSON.stringify(value)} is not stdout, stderr or a file path`);
  }
  return value === "stdout" || value === "stderr" ? value : { file: value };
}

function oneOf<T extends string>(where: string, value: unknown, allowed: readonly T[]): T {
  const text = typeof value === "string" ? value.trim().toLowerCase() : undefined;
  if (text === undefined || !allowed.includes(text as T)) {
    throw new OnrampError(ErrorCode.InvalidArgument, `${where}: ${JSON.stringify(value)} is not one of ${allowed.join(", ")}`);
  }
  return text as T;
}
