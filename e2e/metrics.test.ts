import { createServer, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEdge, TOKEN, type EdgeProcess } from "./harness/cluster.js";
import { send } from "./harness/http-client.js";
import { sample } from "./harness/prometheus.js";
import { startMesh, startMeshAgent, type Mesh, type MeshEdge } from "./harness/mesh.js";
import { startOnramp, stopAll, type RunningProcess } from "./harness/processes.js";
import { startUpstream, type Upstream } from "./harness/upstream.js";
import { until, within } from "./harness/within.js";

// Prometheus metrics as an operator scrapes them: the agent's own /metrics (--metrics-addr), and
// the routing metrics of edges in a mesh (pool picks and members, relay streams and connections).

const upstreams: Upstream[] = [];

afterAll(async () => {
  await stopAll();
  await Promise.all(upstreams.map((u) => u.close()));
});

async function upstream(name: string): Promise<Upstream> {
  const u = await startUpstream(name);
  upstreams.push(u);
  return u;
}

/** GET `url`: the status, content type and body. */
async function scrape(url: string): Promise<{ status: number; type: string; text: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  return { status: res.status, type: res.headers.get("content-type") ?? "", text: await res.text() };
}

describe("onramp http --metrics-addr", () => {
  let edge: EdgeProcess;
  let up: Upstream;

  beforeAll(async () => {
    [edge, up] = await Promise.all([startEdge([], "metrics-edge"), upstream("metrics-up")]);
  });

  const ENDPOINT = "http://metrics.e2e.localhost";

  /** An agent serving ENDPOINT with metrics on a free port; the Host to reach it and its scrape URL, as it prints them. */
  async function meteredAgent(name: string): Promise<{ proc: RunningProcess; host: string; metricsUrl: string }> {
    const proc = startOnramp(name, ["http", up.target, "--url", ENDPOINT, "--edge", edge.agent, "--authtoken", TOKEN, "--metrics-addr", "127.0.0.1:0"]);
    const forwarding = await proc.waitForLine("stdout", /^Forwarding /);
    const printed = await proc.waitForLine("stderr", /^Metrics http:\/\//);
    return { proc, host: new URL(forwarding.split(" ")[1]!).host, metricsUrl: printed.split(" ")[1]! };
  }

  it("serves Prometheus text that counts a request the agent forwarded, and 404 elsewhere", async () => {
    const { proc, host, metricsUrl } = await meteredAgent("metrics-agent");
    expect((await send({ base: edge.httpUrl, host, path: "/hello" })).status).toBe(200);

    const { status, type, text } = await scrape(metricsUrl);
    expect(status).toBe(200);
    expect(type).toMatch(/^text\/plain/);
    expect(text).toMatch(/^# TYPE onramp_agent_upstream_requests_total counter$/m);
    const endpoint = ENDPOINT;
    expect(sample(text, "onramp_agent_upstream_requests_total", { endpoint, code: "200", error_code: "" })).toBe(1);
    expect(sample(text, "onramp_agent_upstream_request_duration_seconds_count", { endpoint })).toBe(1);
    expect(sample(text, "onramp_agent_sessions", { edge: edge.agent })).toBe(1);
    expect(sample(text, "onramp_agent_upstream_healthy", { endpoint })).toBe(1);
    expect(sample(text, "process_resident_memory_bytes")).toBeGreaterThan(0);
    expect((await scrape(metricsUrl.replace(/\/metrics$/, "/other"))).status).toBe(404);

    await proc.stop("SIGTERM");
  });

  it("refuses a taken address with an error naming the flag, before connecting", async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const port = (taken.address() as { port: number }).port;
    try {
      const proc = startOnramp("metrics-taken", ["http", up.target, "--edge", edge.agent, "--authtoken", TOKEN, "--metrics-addr", `127.0.0.1:${port}`]);
      const { code } = await within(20_000, "the agent to exit", proc.exited);
      expect(code).toBe(1);
      expect(proc.stderr.join("\n")).toContain(`--metrics-addr 127.0.0.1:${port}: cannot serve metrics there: the address is already in use`);
      expect(proc.stdout).toEqual([]);
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});

describe("edge routing metrics in a mesh", () => {
  let mesh: Mesh;
  let a: MeshEdge, b: MeshEdge;

  beforeAll(async () => {
    mesh = await startMesh({ a: "r-a", b: "r-b" });
    ({ a, b } = mesh.edges as { a: MeshEdge; b: MeshEdge });
  }, 120_000);

  afterAll(async () => {
    await stopAll();
    await mesh?.stop();
  });

  it("count a request relayed from edge A to a member on edge B: the pick's tier, the relay both ways, the pool", async () => {
    const up = await upstream("relayed");
    const agent = await startMeshAgent("metrics-agent-b", [b], up.target, ["--url", "http://relayed.e2e.localhost", "--pooling-enabled"]);
    const viaA = () => send({ base: a.httpUrl, host: agent.host, path: "/whoami", timeoutMs: 5_000 });
    // Until A has learnt of the member on B (gossip) and dialled the relay.
    await until("edge A to answer for the member on edge B", async () => (await viaA().catch(() => undefined))?.status === 200);
    expect((await viaA()).body).toBe("relayed");

    const atA = (await scrape(`http://${a.admin}/metrics`)).text;
    expect(sample(atA, "onramp_edge_pool_picks_total", { tier: "other", panic: "false" })).toBeGreaterThanOrEqual(2);
    expect(sample(atA, "onramp_edge_relay_streams_total", { direction: "outbound" })).toBeGreaterThanOrEqual(2);
    // One relay connection from every worker of an edge to every other worker of the mesh (each
    // worker of `--workers N` is a member of the mesh; by default one per core).
    const peersOfEach = a.workers + b.workers - 1;
    expect(sample(atA, "onramp_edge_relay_connections", { direction: "outbound" })).toBe(a.workers * peersOfEach);
    expect(sample(atA, "onramp_edge_relay_bytes_total", { direction: "sent" })).toBeGreaterThan(0);
    expect(sample(atA, "onramp_edge_pool_members", { endpoint: "http://relayed.e2e.localhost", state: "available" })).toBe(1);
    expect(sample(atA, "onramp_edge_pool_members", { endpoint: "http://relayed.e2e.localhost", state: "unhealthy" })).toBe(0);

    const atB = (await scrape(`http://${b.admin}/metrics`)).text;
    expect(sample(atB, "onramp_edge_relay_connections", { direction: "inbound" })).toBe(b.workers * peersOfEach);
    expect(sample(atB, "onramp_edge_pool_members", { endpoint: "http://relayed.e2e.localhost", state: "available" })).toBe(1);
    await agent.proc.stop("SIGTERM");
  });
});
