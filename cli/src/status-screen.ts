import type { AgentEdge, AgentStatus, ObserveExchange } from "@onramp/agent";
import { writeSync } from "node:fs";
import type { WriteStream } from "node:tty";
import type { NoticeSink } from "./notice-logger.js";
import { layoutStatus } from "./status-layout.js";
import { StatusTracker } from "./status-tracker.js";
import type { NoticeLevel } from "./status-view.js";
import { paint } from "./terminal-text.js";

/** 250 ms between frames at most: live to the eye, and a burst of requests costs 4 redraws a second, not one each. */
const MIN_FRAME_MS = 250;

/** A redraw a second without any event, for the rates, the retry countdowns and the latency, which change by themselves. */
const TICK_MS = 1000;

const ENTER = "\u001b[?1049h\u001b[?25l"; // alternate screen buffer, cursor hidden
const LEAVE = "\u001b[?25h\u001b[?1049l"; // cursor shown, back to the normal buffer and what was on it
const HOME = "\u001b[H";
const CLEAR_LINE = "\u001b[2K";
const CLEAR_BELOW = "\u001b[J";

export interface StatusScreenOptions {
  /** The agent's version, shown as ngrok shows its own. */
  version: string;
  /** The web inspector's address, when one runs; also settable later with setInspectorUrl. */
  inspectorUrl?: string;
  /** Default process.stdout, which must be a terminal. */
  output?: WriteStream & { readonly fd: number };
  /** Default: unless NO_COLOR is set to something (https://no-color.org). */
  color?: boolean;
}

/**
 * Whether `onramp http`/`start` show the status screen: asked for (`--status`, on by default),
 * stdout a terminal (scripts reading the Forwarding lines from a pipe get exactly those), and a
 * terminal that can draw one (TERM=dumb cannot).
 */
export function statusScreenWanted(enabled: boolean, stdout: WriteStream = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  return enabled && stdout.isTTY === true && env.TERM !== "dumb";
}

/**
 * The live status screen of `onramp http`/`start`, like ngrok's agent: drawn on the alternate
 * screen buffer, redrawn at most every 250 ms and on resize, and the terminal given back as it was
 * when it closes, when the process exits (signals end in process.exit), on a crash (before Node
 * prints the error), and while suspended with Ctrl+Z.
 *
 * While it is shown, what the CLI writes to stderr would tear it, so each line becomes a notice on
 * the screen instead; when stderr is not the terminal (redirected to a file), lines still go there
 * too. Lines written after shutdown began are written to stderr again once the screen is gone, so
 * a "shutting down" problem stays visible.
 */
export class StatusScreen {
  private readonly tracker: StatusTracker;
  private readonly output: WriteStream & { readonly fd: number };
  private readonly color: boolean;
  private restoreStderr: () => void = () => undefined;
  private readonly afterStop: string[] = [];
  private shown = false;
  private closed = false;
  private stoppingFlag = false;
  private lastDraw = -Infinity;
  private pending: NodeJS.Timeout | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private readonly listeners: Array<[NodeJS.EventEmitter, string | symbol, (...args: unknown[]) => void]> = [];

  constructor(options: StatusScreenOptions) {
    this.output = options.output ?? process.stdout;
    this.color = options.color ?? !process.env.NO_COLOR;
    this.tracker = new StatusTracker({ version: options.version, changed: () => this.invalidate() });
    if (options.inspectorUrl) this.tracker.setInspectorUrl(options.inspectorUrl);
  }

  /**
   * Takes over the terminal. Separate from construction so that what fails before anything runs
   * (a --log file that cannot be opened) is said on the normal screen, without a flash of this one;
   * what comes before (notices, statuses) is kept and shown.
   */
  show(): void {
    if (this.closed || this.ticker) return;
    this.output.write(ENTER);
    this.shown = true;
    this.restoreStderr = this.captureStderr();
    this.listen(this.output, "resize", () => this.invalidate());
    this.listen(process, "exit", () => this.close());
    // Before Node prints an uncaught error: on the alternate screen it would vanish with it.
    this.listen(process, "uncaughtExceptionMonitor", () => this.close());
    this.listen(process, "SIGTSTP", () => this.suspend());
    this.listen(process, "SIGCONT", () => this.resume());
    this.ticker = setInterval(() => this.invalidate(), TICK_MS).unref();
    this.draw();
  }

  /** For the agent's `observe` option (in the combineObservers list). */
  readonly observe: ObserveExchange = (info) => this.tracker.observe(info);

  /** A line for the Notices area (log lines, warnings); "onramp: " is dropped. */
  readonly notice: NoticeSink = (level, text) => {
    for (const line of text.split("\n")) this.tracker.notice(level, line);
  };

  /** For the agent's `onStatus`: edge states, reasons and retry times. */
  onStatus(status: AgentStatus): void {
    this.tracker.onStatus(status);
  }

  /** The agent's edges, read at every redraw for latency and extra edges (`() => agent.edges()`). */
  watchEdges(source: () => readonly AgentEdge[]): void {
    this.tracker.watchEdges(source);
  }

  /** An endpoint is online: what plain mode prints as `Forwarding <url> -> <upstream>`. */
  forwarding(url: string, upstream: string): void {
    this.tracker.forwarding(url, upstream);
  }

  setMetricsUrl(url: string | undefined): void {
    this.tracker.setMetricsUrl(url);
  }

  setInspectorUrl(url: string | undefined): void {
    this.tracker.setInspectorUrl(url);
  }

  /** Shutdown began; the screen stays up while in-flight requests drain. */
  stopping(): void {
    this.stoppingFlag = true;
    this.tracker.stopping();
    this.draw();
  }

  /** Gives the terminal back; safe to call more than once, and from an `exit` listener (synchronous). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.pending);
    clearInterval(this.ticker);
    for (const [emitter, event, listener] of this.listeners.splice(0)) emitter.removeListener(event, listener);
    this.restoreStderr();
    this.leave();
    if (this.afterStop.length > 0) writeSync(process.stderr.fd, this.afterStop.join(""));
  }

  private invalidate(): void {
    if (this.closed || !this.shown || this.pending) return;
    const wait = Math.max(0, this.lastDraw + MIN_FRAME_MS - performance.now());
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.draw();
    }, wait).unref();
  }

  /**
   * One frame, in one write: every row from the top, each cleared first, so keystrokes echoed on
   * the screen and leftovers of a longer frame are gone at the next redraw. No newline after the
   * last row: one there would scroll.
   */
  private draw(): void {
    if (this.closed || !this.shown) return;
    this.lastDraw = performance.now();
    const size = { columns: this.output.columns || 80, rows: this.output.rows || 24 };
    const lines = layoutStatus(this.tracker.view(), size).map((line) => CLEAR_LINE + paint(line, this.color));
    const rest = lines.length < size.rows ? `\r\n${CLEAR_BELOW}` : "";
    this.output.write(HOME + lines.join("\r\n") + rest);
  }

  /** Written with writeSync: on `exit` nothing asynchronous runs any more. */
  private leave(): void {
    if (!this.shown) return;
    this.shown = false;
    writeSync(this.output.fd, LEAVE);
  }

  /** Ctrl+Z: the shell gets its screen back while this process is stopped. */
  private suspend(): void {
    this.leave();
    process.kill(process.pid, "SIGSTOP");
  }

  /** `fg`: back on the alternate screen, redrawn. */
  private resume(): void {
    if (this.closed || this.shown) return;
    this.output.write(ENTER);
    this.shown = true;
    this.draw();
  }

  /** Turns stderr writes into notices while the screen is shown; returns what undoes it. */
  private captureStderr(): () => void {
    const stderr = process.stderr;
    const original = stderr.write;
    const alsoToStderr = stderr.isTTY !== true;
    let partial = "";
    stderr.write = ((chunk: string | Uint8Array, encoding?: BufferEncoding | ((err?: Error | null) => void), callback?: (err?: Error | null) => void): boolean => {
      const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString();
      if (this.stoppingFlag && !alsoToStderr) this.afterStop.push(text);
      const lines = (partial + text).split("\n");
      partial = lines.pop()!;
      for (const line of lines) this.tracker.notice(levelOfLine(line), line);
      if (alsoToStderr) return original.call(stderr, chunk, encoding as BufferEncoding, callback);
      const done = typeof encoding === "function" ? encoding : callback;
      if (done) process.nextTick(done);
      return true;
    }) as typeof stderr.write;
    return () => {
      stderr.write = original;
      if (partial) this.tracker.notice(levelOfLine(partial), partial);
    };
  }

  private listen(emitter: NodeJS.EventEmitter, event: string | symbol, listener: (...args: unknown[]) => void): void {
    emitter.on(event, listener);
    this.listeners.push([emitter, event, listener]);
  }
}

/** The CLI's stderr lines are problems to look at, except the errors that end it. */
function levelOfLine(line: string): NoticeLevel {
  return /^onramp: error\b/.test(line) ? "error" : "warn";
}

/** A status screen, not shown yet: call show() to take over the terminal. */
export function createStatusScreen(options: StatusScreenOptions): StatusScreen {
  return new StatusScreen(options);
}
