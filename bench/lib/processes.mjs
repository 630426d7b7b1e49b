// Child processes for the bench: start, wait until ready while watching for an early exit, and
// stop every one of them on teardown — also when the harness fails or gets SIGINT/SIGTERM.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";

/** @type {Set<Proc>} every process started and not yet known to have exited */
const live = new Set();

/** 3 s: long enough for a graceful shutdown (onramp drains in-flight requests), short for a bench. */
const STOP_GRACE_MS = 3_000;
/** Lines of output kept per process for error messages. */
const TAIL_LINES = 30;

/**
 * @typedef {object} StartOptions
 * @property {string} name label for logs and errors
 * @property {string} command
 * @property {string[]} args
 * @property {NodeJS.ProcessEnv} [env]
 * @property {string} [cwd]
 * @property {(line: string) => any} [ready] returns a truthy value (the "ready info") for the line that says the process is ready
 * @property {() => Promise<any>} [probe] for processes that print nothing (nginx): polled every 50 ms until it resolves truthy
 * @property {"stdout" | "stderr" | "both"} [readyOn] which stream carries the ready line; default "both"
 * @property {number} [timeoutMs] how long readiness may take; default 15 s
 * @property {boolean} [echo] copy the child's output to our stderr (debugging); default false
 */

/**
 * A started child process.
 */
export class Proc {
  /** @param {string} name @param {import("node:child_process").ChildProcess} child */
  constructor(name, child) {
    this.name = name;
    this.child = child;
    this.pid = /** @type {number} */ (child.pid);
    /** @type {string[]} */
    this.tail = [];
    /** @type {number | null} */
    this.exitCode = null;
    /** @type {Promise<void>} */
    this.exited = new Promise((resolve) =>
      child.once("exit", (code, signal) => {
        this.exitCode = code ?? (signal ? 128 : 0);
        this.signal = signal;
        live.delete(this);
        resolve();
      }),
    );
  }

  get running() {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Resident set size in bytes, read from /proc (Linux). */
  rssBytes() {
    const status = readFileSync(`/proc/${this.pid}/status`, "utf8");
    const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(status);
    if (!match) throw new Error(`${this.name}: no VmRSS in /proc/${this.pid}/status`);
    return Number(match[1]) * 1024;
  }

  /** SIGTERM, then SIGKILL after the grace period. Resolves once the process has exited. */
  async stop() {
    if (!this.running) return this.exited;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.running && this.child.kill("SIGKILL"), STOP_GRACE_MS);
    await this.exited;
    clearTimeout(timer);
  }

  describe() {
    return `${this.name} (pid ${this.pid})\n  last output:\n    ${this.tail.join("\n    ") || "(none)"}`;
  }
}

/**
 * Starts a process and resolves once `ready` accepts one of its output lines.
 * Rejects (after killing it) if it exits first or readiness takes too long.
 * @param {StartOptions} options
 * @returns {Promise<{ proc: Proc, info: any }>}
 */
export async function startProcess(options) {
  const { name, command, args, env, cwd, ready, probe, readyOn = "both", timeoutMs = 15_000, echo = false } = options;
  const child = spawn(command, args, { env: env ?? process.env, cwd, stdio: ["ignore", "pipe", "pipe"] });
  await new Promise((resolve, reject) => {
    child.once("spawn", resolve);
    child.once("error", reject);
  });
  const proc = new Proc(name, child);
  live.add(proc);

  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (/** @type {Error | null} */ error, /** @type {any} */ info = undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) proc.stop().finally(() => reject(error));
      else resolve({ proc, info });
    };
    const timer = setTimeout(
      () => finish(new Error(`${name} not ready after ${timeoutMs} ms\n${proc.describe()}`)),
      timeoutMs,
    );
    const watch = (/** @type {import("node:stream").Readable} */ stream, /** @type {string} */ which) => {
      createInterface({ input: stream }).on("line", (line) => {
        proc.tail.push(line);
        if (proc.tail.length > TAIL_LINES) proc.tail.shift();
        if (echo) process.stderr.write(`[${name}] ${line}\n`);
        if (settled || !ready || (readyOn !== "both" && readyOn !== which)) return;
        let info;
        try {
          info = ready(line);
        } catch (error) {
          finish(/** @type {Error} */ (error));
          return;
        }
        if (info) finish(null, info);
      });
    };
    watch(/** @type {any} */ (child.stdout), "stdout");
    watch(/** @type {any} */ (child.stderr), "stderr");
    if (probe) {
      const attempt = () => {
        if (settled) return;
        probe().then(
          (info) => (info ? finish(null, info) : setTimeout(attempt, 50)),
          () => setTimeout(attempt, 50),
        );
      };
      attempt();
    }
    proc.exited.then(() =>
      finish(new Error(`${name} exited with ${proc.signal ?? proc.exitCode} before it was ready\n${proc.describe()}`)),
    );
  });
}

/**
 * Runs a process to completion (a load generator) and returns its output. Killed if it outlives
 * `timeoutMs`; registered for teardown like every other child.
 * @param {string} name @param {string} command @param {string[]} args
 * @param {{ timeoutMs: number, env?: NodeJS.ProcessEnv }} opts
 * @returns {Promise<{ code: number, stdout: string, stderr: string }>}
 */
export async function runToCompletion(name, command, args, { timeoutMs, env }) {
  const child = spawn(command, args, { env: env ?? process.env, stdio: ["ignore", "pipe", "pipe"] });
  await new Promise((resolve, reject) => {
    child.once("spawn", resolve);
    child.once("error", reject);
  });
  const proc = new Proc(name, child);
  live.add(proc);
  /** "close" comes after "exit" once stdout and stderr are drained. */
  const closed = new Promise((resolve) => child.once("close", resolve));
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (s) => (stdout += s));
  child.stderr?.setEncoding("utf8").on("data", (s) => (stderr += s));
  const timer = setTimeout(() => proc.stop(), timeoutMs);
  await closed;
  clearTimeout(timer);
  if (proc.signal) throw new Error(`${name} killed by ${proc.signal} (limit ${timeoutMs} ms)\n${stderr.slice(-2000)}`);
  return { code: /** @type {number} */ (proc.exitCode), stdout, stderr };
}

/** Stops every live process, in parallel. */
export async function stopAll() {
  await Promise.allSettled([...live].map((proc) => proc.stop()));
}

/**
 * Stops every child when the harness ends, however it ends; on SIGINT/SIGTERM also runs `cleanup`
 * (a normal run cleans up itself).
 * @param {() => Promise<unknown>} [cleanup]
 */
export function installTeardown(cleanup) {
  let stopping = false;
  const onSignal = (/** @type {NodeJS.Signals} */ signal) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`\nbench: ${signal}, stopping ${live.size} process(es)\n`);
    stopAll()
      .then(() => cleanup?.())
      .finally(() => process.exit(130));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  // Last resort if the harness crashes between awaits: synchronous SIGKILL of whatever is left.
  process.on("exit", () => {
    for (const proc of live) if (proc.running) proc.child.kill("SIGKILL");
  });
}

/**
 * Polls `probe` until it resolves truthy, at most `attempts` times `intervalMs` apart.
 * @template T
 * @param {string} what
 * @param {() => Promise<T | undefined | false>} probe
 * @param {{ attempts?: number, intervalMs?: number }} [opts]
 * @returns {Promise<T>}
 */
export async function poll(what, probe, { attempts = 100, intervalMs = 100 } = {}) {
  let last;
  for (let i = 0; i < attempts; i++) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    await sleep(intervalMs);
  }
  throw new Error(`${what}: not ready after ${attempts} attempts${last ? ` (${/** @type {Error} */ (last).message})` : ""}`);
}

/** @param {number} ms */
export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
