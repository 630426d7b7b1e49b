import { pino, type Logger } from "pino";

export type { Logger };

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";

/**
 * JSON logs to stderr. stdout is reserved for what scripts read (the agent's `Forwarding` line),
 * so logs never interleave with it.
 */
export function createLogger(options: { level?: LogLevel; name?: string } = {}): Logger {
  return pino({ level: options.level ?? "info", name: options.name, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: false }));
}

/** A logger that drops everything, for library users who pass none. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
