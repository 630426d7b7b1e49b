import { spawn } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { freePorts } from "./ports.js";
import { RunningProcess } from "./processes.js";

/** One nats-server process; its ports stay the same across restarts, so clients find it again. */
export interface NatsNode {
  readonly name: string;
  /** Client URL, e.g. nats://127.0.0.1:41234. */
  readonly url: string;
  /** Monitoring base URL (/healthz, /routez, /connz). */
  readonly monitorUrl: string;
  /** Id of the current process; changes on restart. */
  readonly pid: number;
  readonly running: boolean;
  /** SIGKILL: the server vanishes, its clients see their sockets reset. */
  kill(): Promise<void>;
  /** SIGTERM, then SIGKILL after a grace. */
  stop(): Promise<void>;
  /** SIGSTOP: the server stays connected but answers nothing (a hung host); `resume` undoes it. */
  pause(): void;
  resume(): void;
  /** Starts the node again on the same ports; resolves once it is healthy and routed to every running node. */
  restart(): Promise<void>;
}

export interface NatsCluster {
  /** Client URLs of every node, in node order. */
  readonly urls: string[];
  readonly nodes: NatsNode[];
  /** Stops every node (SIGTERM, SIGKILL after a grace). */
  stop(): Promise<void>;
}

/** 20 s: a node starts in well under a second here; a slow CI machine gets a wide margin. */
const READY_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 5_000;

/**
 * Starts `n` nats-servers on loopback, fully routed into one cluster, each with random client,
 * cluster and monitoring ports. Resolves once every node is healthy and has a route to every
 * other; rejects with the servers' output if one exits early or readiness takes over 20 s.
 */
export async function startNatsCluster(n = 3): Promise<NatsCluster> {
  const binary = findNatsServer();
  const ports = await freePorts(3 * n);
  const routes = Array.from({ length: n }, (_, i) => `nats://127.0.0.1:${ports[3 * i + 1]}`).join(",");
  const nodes: NatsNode[] = [];
  const starting: Promise<void>[] = [];

  for (let i = 0; i < n; i++) {
    const [client, cluster, monitor] = [ports[3 * i]!, ports[3 * i + 1]!, ports[3 * i + 2]!];
    const name = `nats-${i}`;
    const args = ["-a", "127.0.0.1", "-p", String(client), "-n", name, "-m", String(monitor)];
    if (n > 1) args.push("--cluster", `nats://127.0.0.1:${cluster}`, "--cluster_name", "onramp-test", "--routes", routes);
    const monitorUrl = `http://127.0.0.1:${monitor}`;
    let proc: RunningProcess | undefined;
    const start = (peers: number) => {
      proc = new RunningProcess(name, spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] }));
      return waitReady(proc, monitorUrl, peers);
    };
    const node: NatsNode = {
      name,
      url: `nats://127.0.0.1:${client}`,
      monitorUrl,
      get pid() {
        return proc?.pid ?? -1;
      },
      get running() {
        return proc !== undefined && !proc.hasExited;
      },
      async kill() {
        await proc?.stop("SIGKILL");
      },
      async stop() {
        if (proc === undefined || proc.hasExited) return;
        proc.child.kill("SIGCONT");
        await proc.stop("SIGTERM", STOP_GRACE_MS);
      },
      pause() {
        proc?.child.kill("SIGSTOP");
      },
      resume() {
        proc?.child.kill("SIGCONT");
      },
      async restart() {
        await node.stop();
        await start(nodes.filter((other) => other !== node && other.running).length);
      },
    };
    nodes.push(node);
    starting.push(start(n - 1));
  }

  const stop = async () => {
    await Promise.all(nodes.map((node) => node.stop()));
  };
  try {
    await Promise.all(starting);
  } catch (err) {
    await stop();
    throw err;
  }
  return { urls: nodes.map((node) => node.url), nodes, stop };
}

/** A single node, no clustering. */
export async function startNatsServer(): Promise<NatsNode> {
  const cluster = await startNatsCluster(1);
  return cluster.nodes[0]!;
}

/** Polls the monitoring endpoint until the node is healthy and routed to `peers` others. */
async function waitReady(proc: RunningProcess, monitorUrl: string, peers: number): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (proc.hasExited) throw new Error(`${proc.name} exited while starting\n${proc.output()}`);
    if ((await healthy(monitorUrl)) && (await routeCount(monitorUrl)) >= peers) return;
    if (Date.now() > deadline) throw new Error(`${proc.name} not ready within ${READY_TIMEOUT_MS} ms\n${proc.output()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function healthy(monitorUrl: string): Promise<boolean> {
  const body = await getJson(`${monitorUrl}/healthz`);
  return (body as { status?: unknown } | undefined)?.status === "ok";
}

async function routeCount(monitorUrl: string): Promise<number> {
  const body = await getJson(`${monitorUrl}/routez`);
  return (body as { num_routes?: number } | undefined)?.num_routes ?? -1;
}

/** The JSON body, or undefined while the server does not answer yet. */
async function getJson(url: string): Promise<unknown> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
    return res.ok ? await res.json() : undefined;
  } catch {
    return undefined;
  }
}

/** nats-server from PATH, else Debian's /usr/sbin (not on every PATH). */
function findNatsServer(): string {
  const dirs = [...(process.env["PATH"] ?? "").split(delimiter), "/usr/sbin", "/usr/local/sbin"];
  for (const dir of dirs) {
    const path = join(dir, "nats-server");
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not in this directory
    }
  }
  throw new Error("nats-server not found on PATH or in /usr/sbin; install it with `apt-get install nats-server`");
}
