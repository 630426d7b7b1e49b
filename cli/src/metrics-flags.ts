import { createAgentMeter, type AgentMeter } from "@onramp/agent";
import { ErrorCode, OnrampError } from "@onramp/errors";
import { createAgentMetrics, type AgentMetrics } from "@onramp/telemetry";
import type { Command } from "commander";
import { createServer, type Server, type ServerResponse } from "node:http";
import { isIP, type AddressInfo } from "node:net";

/** The metrics flag as commander hands it over. */
export interface MetricsFlags {
  metricsAddr?: string;
}

/** Where the agent serves its metrics, and what named it (for errors). */
export interface MetricsAddr {
  /** Without brackets, e.g. 127.0.0.1 or ::1. */
  readonly host: string;
  /** 0: any free port (the one chosen is printed). */
  readonly port: number;
  /** `--metrics-addr` or `ONRAMP_METRICS_ADDR`. */
  readonly from: string;
}

export function addMetricsFlag(command: Command): Command {
  return command.option("--metrics-addr <host:port>", "serve Prometheus metrics of this agent at http://host:port/metrics (default: off; a bare port listens on 127.0.0.1, port 0 on any free port)");
}

/** The address the flag (or its variable) gives, checked; undefined when metrics are off. */
export function resolveMetricsAddr(flags: MetricsFlags, command: Command): MetricsAddr | undefined {
  const source = command.getOptionValueSource("metricsAddr") as string | undefined;
  if (flags.metricsAddr === undefined || (source !== "cli" && source !== "env")) return undefined;
  return parseMetricsAddr(source === "env" ? "ONRAMP_METRICS_ADDR" : "--metrics-addr", flags.metricsAddr);
}

/** `host:port`, `[ipv6]:port` or a bare port (on 127.0.0.1); errors name `from`. */
export function parseMetricsAddr(from: string, text: string): MetricsAddr {
  const match = /^(?:(?:\[([^\]]+)\]|([^:\s[\]]+)):)?(\d{1,5})$/.exec(text.trim());
  const port = Number(match?.[3] ?? NaN);
  if (!match || port > 65535) throw new OnrampError(ErrorCode.InvalidArgument, `${from}: ${JSON.stringify(text)} is not host:port, e.g. 127.0.0.1:9100`);
  const host = match[1] ?? match[2] ?? "127.0.0.1";
  if (match[1] !== undefined && isIP(host) !== 6) throw new OnrampError(ErrorCode.InvalidArgument, `${from}: [${host}] is not an IPv6 address`);
  return { host, port, from };
}

/** The agent's metrics, served over HTTP for Prometheus. */
export interface MetricsServer {
  readonly metrics: AgentMetrics;
  /** What feeds the metrics: give `observe` and `onStatus` to the agent, then `countSessionsOf(agent)`. */
  readonly meter: AgentMeter;
  /** The scrape URL, e.g. http://127.0.0.1:9100/metrics (with the port chosen when 0 was asked). */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Starts answering `GET /metrics` at `addr` with the agent's metrics in Prometheus text, 404 on
 * any other path. An address that is taken or cannot be listened on is an error naming the flag.
 */
export async function serveMetrics(addr: MetricsAddr): Promise<MetricsServer> {
  const metrics = createAgentMetrics();
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path !== "/metrics") return plain(res, 404, `no such path: ${path}; metrics are at /metrics\n`);
    if (req.method !== "GET" && req.method !== "HEAD") return plain(res, 405, "GET /metrics\n", { allow: "GET, HEAD" });
    metrics.registry.metrics().then(
      (text) => {
        res.writeHead(200, { "content-type": metrics.registry.contentType, "content-length": Buffer.byteLength(text) });
        res.end(req.method === "HEAD" ? undefined : text);
      },
      (err: Error) => plain(res, 500, `${err.message}\n`),
    );
  });
  const port = await listen(server, addr);
  const host = addr.host.includes(":") ? `[${addr.host}]` : addr.host;
  return {
    metrics,
    meter: createAgentMeter(metrics),
    url: `http://${host}:${port}/metrics`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        // A scraper's keep-alive connection would hold the shutdown for Node's keep-alive timeout.
        server.closeAllConnections();
      }),
  };
}

function listen(server: Server, addr: MetricsAddr): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => {
      const why = err.code === "EADDRINUSE" ? "the address is already in use" : err.code === "EACCES" ? "permission denied" : err.code === "EADDRNOTAVAIL" ? "no such address on this machine" : err.message;
      reject(new OnrampError(ErrorCode.InvalidArgument, `${addr.from} ${addr.host}:${addr.port}: cannot serve metrics there: ${why}`, { cause: err }));
    });
    server.listen(addr.port, addr.host, () => resolve((server.address() as AddressInfo).port));
  });
}

function plain(res: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "content-type": "text/plain; charset=utf-8", "content-length": Buffer.byteLength(text), ...headers });
  res.end(text);
}
