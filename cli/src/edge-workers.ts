import type { EdgeAddresses } from "@onramp/edge";
import { ErrorCode, OnrampError } from "@onramp/errors";
import type { ProcessChannel } from "@onramp/registry";
import type { Logger, MetricsSnapshot } from "@onramp/telemetry";
import cluster, { type Worker } from "node:cluster";
import { WORKER_AGENT_ADDR_ENV, WORKER_GROUP_ENV, WORKER_INDEX_ENV, type FromWorker, type ToWorker } from "./edge-worker.js";

/** What the primary keeps of a worker that said it is ready. */
export interface ReadyWorker {
  index: number;
  edgeId: string;
  addresses: EdgeAddresses;
}

export interface EdgeWorkersOptions {
  count: number;
  /** Extra environment for every worker (e.g. the generated cluster secret). */
  env: Record<string, string>;
  /** Called for each worker process as it is forked: serve it the registry, access source and bus. Closed when it exits. */
  host?: (channel: ProcessChannel) => { close(): Promise<void> };
  logger: Logger;
}

/** A worker that dies is forked again after 1 s, doubling to 30 s while it keeps dying young. */
const RESTART_FIRST_MS = 1_000;
const RESTART_MAX_MS = 30_000;
/** A worker that ran this long before dying is restarted after the first delay again. */
const HEALTHY_RUN_MS = 60_000;
/** How long the primary waits for a metrics reply from a worker. */
const METRICS_TIMEOUT_MS = 5_000;

/**
 * The primary of `onramp edge --workers N`: forks the workers (Node's cluster module, which
 * shares the public ports among them), starts worker 0 first so a bad flag or a taken port fails
 * once, then the rest; tells every worker its siblings' agent addresses (agents hold a session
 * with each); restarts a worker that dies; gathers their metrics; and drains them on close.
 */
export class EdgeWorkers {
  private readonly ready = new Map<number, ReadyWorker>();
  private readonly processes = new Map<number, Worker>();
  private readonly restartDelay = new Map<number, number>();
  /** Indexes whose worker was ready once: a later death is restarted, not a failed start. */
  private readonly served = new Set<number>();
  /** Each index's agent address once it had one: a restarted worker listens there again, where agents look for it. */
  private readonly agentAddresses = new Map<number, string>();
  private closing = false;
  /** Every worker started once: from then on the workers hear of each other (and welcome agents). */
  private started = false;
  private metricsId = 0;
  /** Worker 0's edge id, once it was ready: the group of every worker. */
  private group: string | undefined;

  constructor(private readonly options: EdgeWorkersOptions) {
    // Structured clone, not JSON: bus payloads are bytes.
    cluster.setupPrimary({ serialization: "advanced" });
  }

  /** Starts every worker; rejects (after stopping the others) when one fails before it is ready. */
  async start(): Promise<ReadyWorker[]> {
    await this.fork(0);
    await Promise.all(Array.from({ length: this.options.count - 1 }, (_, i) => this.fork(i + 1))).catch(async (err: unknown) => {
      await this.close();
      throw err;
    });
    this.started = true;
    this.broadcastSiblings();
    return this.workers();
  }

  /** The workers ready now, by index. */
  workers(): ReadyWorker[] {
    return [...this.ready.values()].sort((a, b) => a.index - b.index);
  }

  /** Every ready worker's metrics; a worker that does not answer in time is left out. */
  async metrics(): Promise<MetricsSnapshot[]> {
    const replies = [...this.processes.entries()]
      .filter(([index]) => this.ready.has(index))
      .map(([, worker]) => this.request(worker));
    return (await Promise.all(replies)).filter((m): m is MetricsSnapshot => m !== undefined);
  }

  /** Asks every worker to drain and stop; resolves when all have exited. */
  async close(): Promise<void> {
    this.closing = true;
    const exits = [...this.processes.values()].map((worker) => {
      if (worker.isDead()) return Promise.resolve();
      const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
      send(worker, { onramp: "shutdown" });
      return exited;
    });
    await Promise.all(exits);
  }

  private fork(index: number): Promise<void> {
    const { logger } = this.options;
    const again = this.agentAddresses.get(index);
    const worker = cluster.fork({
      ...this.options.env,
      [WORKER_INDEX_ENV]: String(index),
      ...(again && { [WORKER_AGENT_ADDR_ENV]: again }),
      ...(index > 0 && this.group && { [WORKER_GROUP_ENV]: this.group }),
    });
    this.processes.set(index, worker);
    const forkedAt = Date.now();
    const hosted = this.options.host?.(channelTo(worker));
    return new Promise<void>((resolve, reject) => {
      let wasReady = false;
      worker.on("message", (raw: Partial<FromWorker>) => {
        if (raw.onramp !== "worker-ready") return;
        wasReady = true;
        this.ready.set(index, { index, edgeId: raw.edgeId!, addresses: raw.addresses! });
        this.served.add(index);
        this.agentAddresses.set(index, raw.addresses!.agent);
        if (index === 0) this.group ??= raw.edgeId;
        this.broadcastSiblings();
        resolve();
      });
      worker.once("exit", (code, signal) => {
        void hosted?.close();
        this.ready.delete(index);
        if (this.processes.get(index) === worker) this.processes.delete(index);
        this.broadcastSiblings();
        if (!wasReady && !this.served.has(index)) {
          // It never served: a bad flag, a taken port. Its own error is on stderr already.
          return reject(new OnrampError(ErrorCode.InvalidArgument, `edge worker ${index} exited with ${signal ?? `code ${code}`} before it was ready`, { cause: { exitCode: code } }));
        }
        if (this.closing) return;
        const ranMs = Date.now() - forkedAt;
        const delay = wasReady && ranMs >= HEALTHY_RUN_MS ? RESTART_FIRST_MS : Math.min(this.restartDelay.get(index) ?? RESTART_FIRST_MS, RESTART_MAX_MS);
        this.restartDelay.set(index, delay * 2);
        logger.error({ worker: index, code, signal, restartInMs: delay }, "edge worker died; starting it again");
        setTimeout(() => {
          if (!this.closing) this.fork(index).catch((err: Error) => logger.error({ worker: index, err: err.message }, "edge worker did not start again"));
        }, delay);
      });
    });
  }

  private broadcastSiblings(): void {
    if (!this.started) return;
    const addresses = this.workers().map((w) => w.addresses.advertise);
    for (const worker of this.processes.values()) send(worker, { onramp: "siblings", addresses });
  }

  private request(worker: Worker): Promise<MetricsSnapshot | undefined> {
    const id = ++this.metricsId;
    return new Promise((resolve) => {
      const done = (value: MetricsSnapshot | undefined) => {
        clearTimeout(timer);
        worker.off("message", onMessage);
        worker.off("exit", onExit);
        resolve(value);
      };
      const onMessage = (raw: Partial<FromWorker>) => {
        if (raw.onramp === "metrics-reply" && raw.id === id) done(raw.metrics);
      };
      const onExit = () => done(undefined);
      const timer = setTimeout(() => done(undefined), METRICS_TIMEOUT_MS);
      worker.on("message", onMessage);
      worker.once("exit", onExit);
      send(worker, { onramp: "metrics", id });
    });
  }
}

function send(worker: Worker, message: ToWorker): void {
  sendTo(worker, message);
}

/**
 * Sends to a worker unless its channel is gone. The callback takes the error of a channel that
 * closes under the send (a worker exiting): without one it would be an 'error' event, uncaught.
 */
function sendTo(worker: Worker, message: object): void {
  if (worker.isConnected()) worker.send(message, undefined, undefined, () => undefined);
}

/** The primary's end of a worker's IPC channel. */
function channelTo(worker: Worker): ProcessChannel {
  return {
    send: (message) => sendTo(worker, message as object),
    onMessage: (listener) => {
      worker.on("message", listener);
      return () => void worker.off("message", listener);
    },
    onClose: (listener) => {
      worker.once("exit", listener);
      return () => void worker.off("exit", listener);
    },
  };
}
