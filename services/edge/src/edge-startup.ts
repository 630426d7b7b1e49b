import { ErrorCode, OnrampError } from "@onramp/errors";
import { createHash } from "node:crypto";
import type { AddressInfo, Server as NetServer } from "node:net";
import { hostname } from "node:os";
import type { HostPort } from "./options.js";

/*
 * What an edge does as it starts: its id, the address it advertises, its listeners, and
 * bounded waits on the registry.
 */

/** The same id for the same host and ports across restarts: `edge-<host>-<8 hex>`. */
export function derivedEdgeId(http: string, agent: string): string {
  const host = hostname().toLowerCase().replace(/[^a-z0-9.-]/g, "-").slice(0, 48) || "host";
  return `edge-${host}-${createHash("sha256").update(`${http}|${agent}`).digest("hex").slice(0, 8)}`;
}

/** The agent listener's address as others can dial it: a wildcard bind becomes the host name. */
export function advertiseOf(agent: string): string {
  const i = agent.lastIndexOf(":");
  const host = agent.slice(0, i);
  return host === "0.0.0.0" || host === "[::]" ? `${hostname()}:${agent.slice(i + 1)}` : agent;
}

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new OnrampError(ErrorCode.RegistryUnavailable, `${what} did not finish within ${ms} ms; is etcd reachable?`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Listens on `addr`. `exclusive`: in a cluster worker (`onramp edge --workers`), a port of this
 * worker's own rather than one shared with the other workers through the primary; no effect
 * outside a cluster.
 */
export function listen(server: NetServer, addr: HostPort, what: string, exclusive = false): Promise<string> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const why = err.code === "EADDRINUSE" ? "the address is already in use" : err.code === "EACCES" ? "permission denied" : err.message;
      reject(new OnrampError(ErrorCode.InvalidArgument, `cannot listen for ${what} on ${addr.host}:${addr.port}: ${why}`, { cause: err }));
    };
    server.once("error", onError);
    server.listen({ port: addr.port, host: addr.host, exclusive }, () => {
      server.off("error", onError);
      const a = server.address() as AddressInfo;
      resolve(`${a.family === "IPv6" ? `[${a.address}]` : a.address}:${a.port}`);
    });
  });
}
