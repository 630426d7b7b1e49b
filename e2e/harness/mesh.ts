import { writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEdge, TOKEN, type EdgeProcess } from "./cluster.js";
import { startEtcd, type EtcdServer } from "./etcd-server.js";
import { startNatsCluster, type NatsCluster } from "./nats-server.js";
import { startOnramp, type RunningProcess } from "./processes.js";

export const CLUSTER_SECRET = "e2e-cluster-secret";

/** Real etcd, a real 3-node NATS cluster, and edges joined to both. */
export interface Mesh {
  etcd: EtcdServer;
  nats: NatsCluster;
  edges: Record<string, MeshEdge>;
  stop(): Promise<void>;
}

export interface MeshEdge extends EdgeProcess {
  id: string;
  region: string;
}

/**
 * Starts etcd and NATS, then one edge per entry of `edges` (id → region), each edge on its own
 * NATS node. `configFor` may give an edge a YAML config (cloud endpoints).
 */
export async function startMesh(edges: Record<string, string>, configFor: Record<string, string> = {}, env: Record<string, string> = {}): Promise<Mesh> {
  const [etcd, nats] = await Promise.all([startEtcd(), startNatsCluster(3)]);
  const started: Record<string, MeshEdge> = {};
  const dir = mkdtempSync(join(tmpdir(), "onramp-mesh-"));
  let i = 0;
  const stop = async () => {
    await Promise.all(Object.values(started).map((e) => e.proc.stop("SIGKILL")));
    await Promise.all([etcd.stop(), nats.stop()]);
  };
  try {
    for (const [id, region] of Object.entries(edges)) {
      const extra: string[] = [];
      if (configFor[id]) {
        const file = join(dir, `${id}.yml`);
        writeFileSync(file, configFor[id]!);
        extra.push("--config", file);
      }
      started[id] = await startMeshEdge(id, region, etcd.url, nats.urls[i++ % nats.urls.length]!, extra, env);
    }
  } catch (err) {
    // An edge that did not start leaves no etcd or NATS behind: the caller never gets `stop`.
    await stop();
    throw err;
  }
  return { etcd, nats, edges: started, stop };
}

export async function startMeshEdge(id: string, region: string, etcd: string, nats: string, extra: string[] = [], env: Record<string, string> = {}): Promise<MeshEdge> {
  const edge = await startEdge(["--edge-id", id, "--region", region, "--etcd", etcd, "--nats", nats, "--cluster-secret", CLUSTER_SECRET, "--log-level", "debug", ...extra], `edge-${id}`, env);
  return { ...edge, id, region };
}

/** An agent with sessions to the given edges (in order), waiting for its Forwarding line. */
export async function startMeshAgent(name: string, edges: MeshEdge[], upstream: string, args: string[] = [], env: Record<string, string> = {}): Promise<{ proc: RunningProcess; url: string; host: string }> {
  const proc = startOnramp(name, ["http", upstream, "--edge", edges.map((e) => e.agent).join(","), "--authtoken", TOKEN, "--log-level", "info", ...args], env);
  const line = await proc.waitForLine("stdout", /^Forwarding /, 30_000);
  const url = line.split(" ")[1]!;
  return { proc, url, host: new URL(url).host };
}

export interface MemberJson {
  id: string;
  edge: string;
  region: string;
  local: boolean;
  agent_id: string;
  /** What the member's health check last said, and passive outlier detection; absent from edges that do not report them. */
  healthy?: boolean;
  ejected_until?: string | null;
}

/** The members of `url` that an edge's admin API lists. */
export async function membersAt(edge: EdgeProcess, url: string): Promise<MemberJson[]> {
  const res = await fetch(`http://${edge.admin}/api/endpoints`, { signal: AbortSignal.timeout(3000) });
  const body = (await res.json()) as { endpoints: Array<{ url: string; members: MemberJson[] }> };
  return body.endpoints.find((e) => e.url === url)?.members ?? [];
}
