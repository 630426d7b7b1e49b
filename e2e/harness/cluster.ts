import { RunningProcess, startOnramp } from "./processes.js";

export interface EdgeProcess {
  proc: RunningProcess;
  http: string;
  /** The HTTPS listener, when started with --https-addr. */
  https?: string;
  agent: string;
  admin: string;
  /** Base URL of the public listener, e.g. http://127.0.0.1:41234 */
  httpUrl: string;
  /** How many worker processes the edge runs (`--workers`, by default one per core). */
  workers: number;
}

export const TOKEN = "e2e-token";

/** `onramp edge` on loopback: every listener on a random port, the e2e domain, the e2e authtoken. */
export const LOOPBACK_EDGE_ARGS: readonly string[] = [
  "edge",
  "--http-addr", "127.0.0.1:0",
  "--grpc-addr", "127.0.0.1:0",
  "--admin-addr", "127.0.0.1:0",
  "--api-addr", "127.0.0.1:0",
  "--domain", "e2e.localhost",
  "--authtoken", TOKEN,
];

/** Starts `onramp edge` on loopback with random ports and waits for its "edge ready" log line. */
export async function startEdge(extraArgs: string[] = [], name = "edge", env: Record<string, string> = {}): Promise<EdgeProcess> {
  const proc = startOnramp(name, [...LOOPBACK_EDGE_ARGS, ...extraArgs], env);
  // Workers (one per core by default) start one after the other: on a loaded machine that takes a while.
  const line = await proc.waitForLine("stderr", /"msg":"edge ready"/, 30_000);
  const ready = JSON.parse(line) as { http: string; https?: string; agent: string; admin: string; workers?: unknown[] };
  return { proc, http: ready.http, https: ready.https, agent: ready.agent, admin: ready.admin, httpUrl: `http://${ready.http}`, workers: ready.workers?.length ?? 1 };
}

/** Restarts an edge on the same ports (agents reconnect to the same address). */
export async function restartEdge(edge: EdgeProcess, extraArgs: string[] = []): Promise<EdgeProcess> {
  await edge.proc.stop("SIGKILL");
  const proc = startOnramp(edge.proc.name, [
    "edge",
    "--http-addr", edge.http,
    "--grpc-addr", edge.agent,
    "--admin-addr", edge.admin,
    "--api-addr", "127.0.0.1:0",
    "--domain", "e2e.localhost",
    "--authtoken", TOKEN,
    ...extraArgs,
  ]);
  await proc.waitForLine("stderr", /"msg":"edge ready"/, 30_000);
  return { ...edge, proc };
}

export interface AgentProcess {
  proc: RunningProcess;
  url: string;
  /** The URL's host, for the Host header of requests sent to the edge's listener. */
  host: string;
}

/** Starts `onramp http` against an edge and waits for its `Forwarding` line. */
export async function startAgent(edge: EdgeProcess, upstream: string, extraArgs: string[] = [], name = "agent"): Promise<AgentProcess> {
  const proc = startOnramp(name, ["http", upstream, "--edge", edge.agent, "--authtoken", TOKEN, "--log-level", "info", ...extraArgs]);
  // 30 s, as for an edge: a CI run on a loaded 2-core host once took more than 15 s here.
  const line = await proc.waitForLine("stdout", /^Forwarding /, 30_000);
  const url = line.split(" ")[1]!;
  return { proc, url, host: new URL(url).host };
}
