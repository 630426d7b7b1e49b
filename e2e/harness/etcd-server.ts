import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { createInterface } from "node:readline";
import { freePorts } from "./ports.js";

/** A single-member etcd on loopback, with its own data dir and random ports. */
export interface EtcdServer {
  /** The client URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly pid: number;
  /** SIGTERM (SIGKILL after 5 s), then removes the data dir: a later `restart()` starts an empty etcd. */
  stop(): Promise<void>;
  /** SIGSTOP: the sockets stay open, nothing answers (a stalled disk, a long GC pause). */
  pause(): void;
  /** SIGCONT. */
  resume(): void;
  /** SIGKILL, keeping the data dir (a crash, an outage); `restart()` brings it back with its data. */
  kill(): Promise<void>;
  /** Stops it if running, then starts it again on the same ports and data dir; resolves when healthy. */
  restart(): Promise<void>;
}

/** Debian's `etcd-server` installs /usr/bin/etcd; otherwise the first `etcd` on PATH. */
function etcdBinary(): string | undefined {
  const dirs = ["/usr/bin", ...(process.env.PATH ?? "").split(delimiter).filter(Boolean)];
  return dirs.map((dir) => join(dir, "etcd")).find((path) => existsSync(path));
}

export function etcdAvailable(): boolean {
  return etcdBinary() !== undefined;
}

/** Long enough for a cold start with a leader election (about 1 s) on a busy CI machine. */
const READY_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 5_000;
const STDERR_LINES_KEPT = 40;

const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

export async function startEtcd(): Promise<EtcdServer> {
  const binary = etcdBinary();
  if (!binary) throw new Error("etcd is not installed (apt-get install etcd-server)");
  const [clientPort, peerPort] = (await freePorts(2)) as [number, number];
  const dataDir = mkdtempSync(join(tmpdir(), "onramp-etcd-"));
  const url = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const args = [
    "--name=onramp-test",
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${url}`,
    `--advertise-client-urls=${url}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=onramp-test=${peerUrl}`,
    "--initial-cluster-state=new",
    `--initial-cluster-token=onramp-${randomBytes(4).toString("hex")}`,
    "--logger=zap",
    "--log-outputs=stderr",
  ];

  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  const stderr: string[] = [];

  const launch = async () => {
    const proc = spawn(binary, args, { stdio: ["ignore", "ignore", "pipe"] });
    child = proc;
    running.add(proc);
    let gone = false;
    exited = new Promise((resolve) => {
      const done = () => {
        gone = true;
        running.delete(proc);
        resolve();
      };
      proc.once("exit", done);
      proc.once("error", (err) => {
        stderr.push(`spawn ${binary}: ${err.message}`);
        done();
      });
    });
    createInterface({ input: proc.stderr! }).on("line", (line) => {
      stderr.push(line);
      if (stderr.length > STDERR_LINES_KEPT) stderr.shift();
    });
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (gone) throw new Error(`etcd exited before it was healthy\n${stderr.join("\n")}`);
      if (await healthy(url)) return;
      if (Date.now() > deadline) {
        proc.kill("SIGKILL");
        throw new Error(`etcd was not healthy within ${READY_TIMEOUT_MS} ms\n${stderr.join("\n")}`);
      }
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 100))]);
    }
  };

  const terminate = async (signal: NodeJS.Signals) => {
    const proc = child;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill(signal);
    proc.kill("SIGCONT"); // a paused process would otherwise sit on the SIGTERM
    const escalate = setTimeout(() => proc.kill("SIGKILL"), STOP_GRACE_MS);
    await exited;
    clearTimeout(escalate);
  };

  await launch().catch(async (err: unknown) => {
    await terminate("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  });

  return {
    url,
    get pid() {
      return child!.pid!;
    },
    async stop() {
      await terminate("SIGTERM");
      rmSync(dataDir, { recursive: true, force: true });
    },
    pause: () => void child?.kill("SIGSTOP"),
    resume: () => void child?.kill("SIGCONT"),
    kill: () => terminate("SIGKILL"),
    async restart() {
      await terminate("SIGTERM");
      await launch();
    },
  };
}

async function healthy(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1_000) });
    return /"health"\s*:\s*"true"/.test(await res.text());
  } catch {
    return false;
  }
}


/** A key-value as etcd's JSON gateway returns it: key and value base64, lease as a decimal string. */
export interface GatewayKv {
  key: string;
  value: string;
  lease?: string;
}

/**
 * etcd's JSON gateway (`/v3/…`): a test's own view of etcd, independent of the gRPC client under
 * test. Keys and values are plain text here and base64 on the wire.
 */
export function etcdGateway(url: string) {
  const b64 = (text: string) => Buffer.from(text).toString("base64");
  const post = async (path: string, body: object): Promise<any> => {
    const res = await fetch(`${url}/v3/${path}`, { method: "POST", body: JSON.stringify(body), signal: AbortSignal.timeout(5_000) });
    if (!res.ok) throw new Error(`etcd ${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  /** The first byte string after every key starting with `prefix`. */
  const end = (prefix: string) => {
    const buf = Buffer.from(prefix);
    buf[buf.length - 1]!++;
    return buf.toString("base64");
  };
  return {
    post,
    b64,
    async get(key: string): Promise<GatewayKv | undefined> {
      return (await post("kv/range", { key: b64(key) })).kvs?.[0];
    },
    async range(prefix: string): Promise<GatewayKv[]> {
      return (await post("kv/range", { key: b64(prefix), range_end: end(prefix) })).kvs ?? [];
    },
    async put(key: string, value: string): Promise<{ header: { revision: string } }> {
      return post("kv/put", { key: b64(key), value: b64(value) });
    },
    async deletePrefix(prefix: string): Promise<void> {
      await post("kv/deleterange", { key: b64(prefix), range_end: end(prefix) });
    },
  };
}
