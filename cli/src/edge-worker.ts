import { parseHostPort, type Edge, type EdgeAddresses, type EdgeOptions } from "@onramp/edge";
import type { ProcessChannel } from "@onramp/registry";
import type { Logger, MetricsSnapshot } from "@onramp/telemetry";
import cluster from "node:cluster";
import { createServer, type AddressInfo } from "node:net";

/*
 * One worker of `onramp edge --workers N`: a whole edge, and a member of the mesh of its own,
 * sharing the public ports with the other workers through the primary (edge-workers.ts).
 */

/** Set by the primary in each worker's environment: the worker's index, 0 to N-1. */
export const WORKER_INDEX_ENV = "ONRAMP_EDGE_WORKER";
/** Set by the primary for a worker it restarts: the agent address the worker had, where agents look for it. */
export const WORKER_AGENT_ADDR_ENV = "ONRAMP_EDGE_WORKER_AGENT_ADDR";
/** Set by the primary for workers 1 to N-1: worker 0's edge id, the group every worker's bindings name. */
export const WORKER_GROUP_ENV = "ONRAMP_EDGE_WORKER_GROUP";
/** Set by the primary when no --cluster-secret is given: the secret the workers relay to each other with. */
export const WORKER_SECRET_ENV = "ONRAMP_EDGE_WORKER_SECRET";

/** What the primary and the workers say to each other (besides the registry, access and bus messages). */
export type ToWorker =
  | { onramp: "siblings"; addresses: string[] }
  | { onramp: "metrics"; id: number }
  | { onramp: "shutdown" };
export type FromWorker =
  | { onramp: "worker-ready"; index: number; edgeId: string; addresses: EdgeAddresses }
  | { onramp: "metrics-reply"; id: number; metrics: MetricsSnapshot };

/** This process's worker index, or undefined when it is not a worker of `onramp edge --workers`. */
export function workerIndex(): number | undefined {
  const value = process.env[WORKER_INDEX_ENV];
  return cluster.isWorker && value !== undefined ? Number(value) : undefined;
}

/** The worker's end of its IPC channel to the primary. */
export function channelToPrimary(): ProcessChannel {
  return {
    // The callback takes the error of a channel that closes under the send (the primary gone).
    send: (message) => {
      if (process.connected) process.send!(message, undefined, undefined, () => undefined);
    },
    onMessage: (listener) => {
      process.on("message", listener);
      return () => void process.off("message", listener);
    },
    onClose: (listener) => {
      process.on("disconnect", listener);
      return () => void process.off("disconnect", listener);
    },
  };
}

/**
 * The options of worker `index`, from the edge's: worker 0 keeps the agent port agents are given;
 * worker i takes that port + i (and the advertised port + i), or any free port when that one is
 * taken (agents learn it from the Welcome) or the port is 0; a restarted worker takes the port it
 * had. Each has an admin port of its own on loopback, which the primary reads; an explicit edge id
 * gets `-w<i>` from the second worker on (derived ids differ by the agent port anyway).
 */
export async function workerEdgeOptions(options: EdgeOptions, index: number, siblings: () => readonly string[] | undefined, logger: Logger): Promise<EdgeOptions> {
  const agent = parseHostPort("grpcAddr", options.grpcAddr ?? "0.0.0.0:4443");
  const again = process.env[WORKER_AGENT_ADDR_ENV];
  let port = again ? parseHostPort("grpcAddr", again).port : agent.port === 0 || index === 0 ? agent.port : agent.port + index;
  if (!again && index > 0 && port !== 0 && !(await isFree(agent.host, port))) {
    const wanted = port;
    port = await freePort(agent.host);
    logger.warn({ worker: index, wanted: wanted, port }, "the agent port + worker index is taken; this worker's agent port is another free one, which agents learn from the edge");
  }
  const advertise = options.advertiseAddr === undefined ? undefined : parseHostPort("advertiseAddr", options.advertiseAddr);
  const advertisePort = advertise && (port === 0 ? advertise.port : port === agent.port + index ? advertise.port + index : port);
  const secret = options.clusterSecret ?? process.env[WORKER_SECRET_ENV];
  return {
    ...options,
    grpcAddr: hostPortText(agent.host, port),
    ...(advertise && { advertiseAddr: hostPortText(advertise.host, advertisePort!) }),
    ...(options.adminAddr !== "" && { adminAddr: "127.0.0.1:0" }),
    ...(options.edgeId !== undefined && index > 0 && { edgeId: `${options.edgeId}-w${index}` }),
    ...(secret !== undefined && { clusterSecret: secret }),
    siblings,
    worker: { index, ...(index > 0 && process.env[WORKER_GROUP_ENV] ? { group: process.env[WORKER_GROUP_ENV] } : {}) },
    readyMessage: "worker ready",
  };
}

function hostPortText(host: string, port: number): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

/** Whether nothing listens on `host:port` now. */
function isFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once("error", () => resolve(false));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

/** A port free on `host` now. */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen({ host, port: 0, exclusive: true }, () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/**
 * Serves the primary's requests of a started worker: its metrics and the shutdown (`stop`, which
 * drains). Tells the primary it is ready. When the primary is gone (killed), the worker exits at
 * once, as if killed with it: the public ports went with the primary, and a restarted edge must
 * find the agent ports free.
 */
export function serveWorker(edge: Edge, index: number, channel: ProcessChannel, stop: () => void): void {
  channel.onMessage((raw) => {
    const message = raw as Partial<ToWorker>;
    if (message.onramp === "metrics") {
      void edge.metrics.registry.getMetricsAsJSON().then((metrics) => channel.send({ onramp: "metrics-reply", id: message.id!, metrics } satisfies FromWorker));
    } else if (message.onramp === "shutdown") {
      stop();
    }
  });
  channel.onClose(() => {
    process.stderr.write(`onramp: edge worker ${index}: the primary process is gone; exiting\n`);
    process.exit(1);
  });
  channel.send({ onramp: "worker-ready", index, edgeId: edge.edgeId, addresses: edge.addresses } satisfies FromWorker);
}

/**
 * The latest sibling list the primary sent, without this worker's own address; undefined until
 * the first, which the primary sends once every worker has started.
 */
export function siblingsFrom(channel: ProcessChannel, own: () => string | undefined): () => readonly string[] | undefined {
  let addresses: readonly string[] | undefined;
  channel.onMessage((raw) => {
    const message = raw as Partial<ToWorker>;
    if (message.onramp === "siblings") addresses = message.addresses!;
  });
  return () => addresses?.filter((a) => a !== own());
}
