import { fork, type ChildProcess } from "node:child_process";
import { within } from "./within.js";

/** The test's end of a child's IPC pipe, shaped as libs/registry's `ProcessChannel`. */
export interface IpcChannel {
  send(message: unknown): void;
  onMessage(listener: (message: unknown) => void): () => void;
  onClose(listener: () => void): () => void;
}

/** A fixture script forked with Node IPC and `serialization: "advanced"`, as `cluster` runs workers. */
export interface IpcChild {
  readonly pid: number;
  readonly channel: IpcChannel;
  /**
   * Sends `{ onramp: "test", op, … }` and resolves with the fixture's answer (ipc-fixture.mjs);
   * rejects with an Error carrying the `code` the fixture reported. Bounded by 10 s.
   */
  command(op: string, args?: Record<string, unknown>): Promise<unknown>;
  /** SIGKILL, resolving once the child has exited. */
  kill(): Promise<void>;
}

/** A ChildProcess's IPC as a channel; a send after the child went away is dropped. */
export function channelOf(child: ChildProcess): IpcChannel {
  return {
    send: (message) => {
      if (child.connected) child.send(message as never);
    },
    onMessage(listener) {
      child.on("message", listener);
      return () => void child.off("message", listener);
    },
    onClose(listener) {
      child.on("disconnect", listener);
      return () => void child.off("disconnect", listener);
    },
  };
}

/** Forks `script` with `args`; resolves once it says it is ready, rejects (with its stderr) if it exits first. */
export async function forkIpcChild(script: string, args: string[] = []): Promise<IpcChild> {
  // Not vitest's exec arguments (its `@onramp/source` condition would load TypeScript): the built packages.
  const child = fork(script, args, { serialization: "advanced", stdio: ["ignore", "inherit", "pipe", "ipc"], execArgv: [] });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
    process.stderr.write(chunk);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const channel = channelOf(child);
  let nextId = 0;
  const waiting = new Map<number, { resolve(value: unknown): void; reject(err: Error): void }>();
  channel.onMessage((message) => {
    const m = message as { onramp?: string; reply?: number; value?: unknown; error?: { code: string; message: string } };
    if (m?.onramp !== "test" || typeof m.reply !== "number") return;
    const w = waiting.get(m.reply);
    waiting.delete(m.reply);
    if (m.error) w?.reject(Object.assign(new Error(m.error.message), { code: m.error.code }));
    else w?.resolve(m.value);
  });
  await within(
    10_000,
    `${script} to start`,
    new Promise<void>((resolve, reject) => {
      const ready = (message: unknown) => {
        if ((message as { onramp?: string; ready?: boolean })?.onramp === "test" && (message as { ready?: boolean }).ready) resolve();
      };
      child.on("message", ready);
      void exited.then(() => reject(new Error(`${script} exited before it was ready:\n${stderr}`)));
    }),
  ).catch(async (err: unknown) => {
    child.kill("SIGKILL");
    await exited;
    throw err;
  });
  return {
    pid: child.pid!,
    channel,
    command(op, args = {}) {
      const id = ++nextId;
      const answer = new Promise<unknown>((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        void exited.then(() => reject(new Error(`${script} exited during ${op}:\n${stderr}`)));
      });
      channel.send({ onramp: "test", call: id, op, ...args });
      return within(10_000, `${op} in ${script}`, answer);
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
}
