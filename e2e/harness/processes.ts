import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createInterface } from "node:readline";

export const ONRAMP_BIN = fileURLToPath(new URL("../../cli/bin/onramp.js", import.meta.url));

const running = new Set<RunningProcess>();

/**
 * A child process whose stdout and stderr lines are kept, with helpers to wait for a line, for
 * exit, and to stop it. Waits fail fast when the process exits early, with its output attached.
 */
export class RunningProcess {
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private readonly waiters = new Set<() => void>();
  private exitedFlag = false;

  constructor(readonly name: string, readonly child: ChildProcess) {
    running.add(this);
    for (const [stream, lines] of [
      [child.stdout, this.stdout],
      [child.stderr, this.stderr],
    ] as const) {
      if (!stream) continue;
      createInterface({ input: stream }).on("line", (line) => {
        lines.push(line);
        for (const wake of this.waiters) wake();
      });
    }
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        this.exitedFlag = true;
        running.delete(this);
        // Let readline deliver the last lines before anyone reads them.
        setImmediate(() => {
          for (const wake of this.waiters) wake();
          resolve({ code, signal });
        });
      });
    });
  }

  get pid(): number {
    return this.child.pid!;
  }

  get hasExited(): boolean {
    return this.exitedFlag;
  }

  output(): string {
    return `--- ${this.name} stdout ---\n${this.stdout.join("\n")}\n--- ${this.name} stderr ---\n${this.stderr.join("\n")}`;
  }

  /** Resolves with the first line on `stream` that matches; rejects if the process exits first or on timeout. */
  waitForLine(stream: "stdout" | "stderr", match: RegExp | ((line: string) => boolean), timeoutMs = 15_000): Promise<string> {
    const test = typeof match === "function" ? match : (l: string) => match.test(l);
    const lines = stream === "stdout" ? this.stdout : this.stderr;
    return new Promise((resolve, reject) => {
      let seen = 0;
      const check = () => {
        for (; seen < lines.length; seen++) {
          if (test(lines[seen]!)) return done(() => resolve(lines[seen]!));
        }
        if (this.exitedFlag) done(() => reject(new Error(`${this.name} exited before printing the expected line\n${this.output()}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`${this.name}: timed out waiting for a line\n${this.output()}`))), timeoutMs);
      const done = (fn: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        fn();
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Sends `signal` and waits for exit; escalates to SIGKILL after `graceMs`. */
  async stop(signal: NodeJS.Signals = "SIGTERM", graceMs = 10_000): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.exitedFlag) {
      this.child.kill(signal);
      const timer = setTimeout(() => this.child.kill("SIGKILL"), graceMs);
      const result = await this.exited;
      clearTimeout(timer);
      return result;
    }
    return this.exited;
  }

  /** Resident set size in bytes, from /proc. */
  rssBytes(): number {
    return readRss(this.pid);
  }
}

export function readRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = /VmRSS:\s+(\d+) kB/.exec(status);
  return kb ? Number(kb[1]) * 1024 : 0;
}

/**
 * A home of its own for the processes of this test run: the agent reads its config from
 * $XDG_CONFIG_HOME and remembers URLs under $XDG_STATE_HOME, and a developer's real ones must
 * neither leak into tests nor be written by them. Tests that need a specific one pass it in `env`.
 */
const SANDBOX = mkdtempSync(join(tmpdir(), "onramp-e2e-home-"));
const SANDBOX_ENV = { HOME: SANDBOX, XDG_CONFIG_HOME: join(SANDBOX, "config"), XDG_STATE_HOME: join(SANDBOX, "state") };
process.once("exit", () => rmSync(SANDBOX, { recursive: true, force: true }));

export function startOnramp(name: string, args: string[], env: Record<string, string> = {}): RunningProcess {
  const child = spawn(process.execPath, [ONRAMP_BIN, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...SANDBOX_ENV, ...env },
  });
  return new RunningProcess(name, child);
}

/** Kills everything still running; call from afterAll/afterEach. */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop("SIGKILL")));
}
