import { openSync } from "node:fs";
import { resolve } from "node:path";
import { isatty } from "node:tty";
import { pino, type DestinationStream, type Logger } from "pino";
import { formatLogfmt, formatTerm, type LogRecord } from "./log-format.js";

export type { Logger };

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";

/** How each line is written: pino's JSON, logfmt, or a terminal line (see log-format.ts). */
export type LogFormat = "json" | "logfmt" | "pretty";

/** Where log lines go: a standard stream, or a file they are appended to. */
export type LogDestination = "stderr" | "stdout" | { file: string };

export interface LoggerOptions {
  /** Default info. */
  level?: LogLevel;
  /** Written as `name` on every line, e.g. "agent" or "edge". */
  name?: string;
  /**
   * Default stderr: stdout is reserved for what scripts read (the agent's `Forwarding` line), so
   * logs go there only when asked. A file is opened for appending when the logger is made, so a
   * path that cannot be written fails then (with Node's error), not at the first line.
   */
  destination?: LogDestination;
  /**
   * Default `pretty` when the destination is a terminal, else `json`: a person reads the one, log
   * shippers and `jq` the other. `pretty` is colored on a terminal unless NO_COLOR is set.
   */
  format?: LogFormat;
}

/**
 * A logger writing to `destination` in `format`. Loggers with the same destination share one
 * buffered writer (one per file), so lines of the agent and an embedded edge never interleave
 * mid-line; it is flushed when the process exits.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const destination = options.destination ?? "stderr";
  const writer = writerFor(destination);
  const tty = typeof destination === "string" && isatty(destination === "stdout" ? 1 : 2);
  const format = options.format ?? (tty ? "pretty" : "json");
  const pinoOptions = { level: options.level ?? "info", name: options.name, base: { pid: process.pid } };
  if (format === "json") return pino(pinoOptions, writer);
  const color = tty && !process.env.NO_COLOR;
  const line = format === "logfmt" ? formatLogfmt : (record: LogRecord) => formatTerm(record, { color });
  return pino(pinoOptions, reformatting(writer, line));
}

/** A logger that drops everything, for library users who pass none. */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}

/**
 * One buffered writer per fd or file for the whole process. Lines written in one turn of the event
 * loop go out in one write at the end of it: a busy edge's access log (a line per request) costs a
 * write per batch of requests rather than per request, and a quiet process's line goes out at once.
 * pino's `flush` on its writer returns before an asynchronous write lands; this one calls back
 * once everything written so far is out.
 */
class LogWriter implements DestinationStream {
  private pending = "";
  private scheduled = false;
  private busy = false;
  private waiters: Array<(err?: Error) => void> = [];
  private readonly writeOutNow = () => this.writeOut();

  constructor(private readonly boom: ReturnType<typeof pino.destination>) {
    boom.on("drain", () => this.settle(undefined));
    // A log that cannot be written (a full disk, a closed pipe) must not stop the agent or edge.
    boom.on("error", (err: Error) => this.settle(err));
    // pino.destination writes out its own buffer when the process exits; the batch of this turn, too.
    process.once("exit", () => {
      this.writeOut();
      try {
        boom.flushSync();
      } catch {
        // Nowhere left to say it.
      }
    });
  }

  write(line: string): void {
    this.pending += line;
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.writeOutNow);
  }

  flush(cb: (err?: Error) => void): void {
    this.writeOut();
    if (this.busy) this.waiters.push(cb);
    else cb();
  }

  private writeOut(): void {
    this.scheduled = false;
    if (this.pending === "") return;
    this.busy = true;
    this.boom.write(this.pending);
    this.pending = "";
  }

  private settle(err: Error | undefined): void {
    this.busy = false;
    for (const waiter of this.waiters.splice(0)) waiter(err);
  }
}

const writers = new Map<string, LogWriter>();


function writerFor(destination: LogDestination): LogWriter {
  const key = typeof destination === "string" ? destination : `file:${resolve(destination.file)}`;
  let writer = writers.get(key);
  if (!writer) {
    const fd = destination === "stdout" ? 1 : destination === "stderr" ? 2 : openSync(destination.file, "a");
    // pino.destination flushes it synchronously when the process exits.
    writer = new LogWriter(pino.destination({ fd, sync: false }));
    writers.set(key, writer);
  }
  return writer;
}

/** Turns each JSON line pino writes into a `format` line. */
function reformatting(writer: LogWriter, format: (record: LogRecord) => string): DestinationStream & Pick<LogWriter, "flush"> {
  return {
    write: (json: string) => writer.write(`${format(JSON.parse(json) as LogRecord)}\n`),
    flush: (cb) => writer.flush(cb),
  };
}
