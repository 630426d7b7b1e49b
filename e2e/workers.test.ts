import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer, type Server } from "node:net";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { startAgent, startEdge, type EdgeProcess } from "./harness/cluster.js";
import { send } from "./harness/http-client.js";
import { sample } from "./harness/prometheus.js";
import { startOnramp, stopAll, type RunningProcess } from "./harness/processes.js";
import { startUpstream, type Upstream } from "./harness/upstream.js";
import { until, within } from "./harness/within.js";

// `onramp edge --workers N`: N edge processes behind one public port, each with its own agent
// port, agents holding a session with each; one admin port for all of them; a worker that dies is
// started again; one signal stops them all.

const upstreams: Upstream[] = [];

afterEach(async () => {
  await stopAll();
});
afterAll(async () => {
  await Promise.all(upstreams.map((u) => u.close()));
});

/** The pids of `pid`'s child processes (the workers of an edge primary). */
function childrenOf(pid: number): number[] {
  const text = readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim();
  return text ? text.split(/\s+/).map(Number) : [];
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function metricsOf(edge: EdgeProcess): Promise<string> {
  const res = await fetch(`http://${edge.admin}/metrics`, { signal: AbortSignal.timeout(5_000) });
  return res.text();
}

/** Which worker logged each access-log line so far, from the workers' stderr (shared with the primary's). */
function workersServing(proc: RunningProcess): Set<number> {
  const seen = new Set<number>();
  for (const line of proc.stderr) {
    if (!line.includes('"msg":"request"')) continue;
    const worker = (JSON.parse(line) as { worker?: number }).worker;
    if (worker !== undefined) seen.add(worker);
  }
  return seen;
}

describe("onramp edge --workers", () => {
  it("serves one public port from every worker, with the agent holding a session on each and no relay between them", async () => {
    const up = await startUpstream("workers-up");
    upstreams.push(up);
    const edge = await startEdge(["--workers", "2"], "workers-edge");
    const ready = JSON.parse(edge.proc.stderr.find((l) => l.includes('"msg":"edge ready"'))!) as { workers: Array<{ edge: string; agent: string }> };
    expect(ready.workers).toHaveLength(2);
    expect(new Set(ready.workers.map((w) => w.edge)).size).toBe(2);
    expect(childrenOf(edge.proc.pid)).toHaveLength(2);

    const agent = await startAgent(edge, up.target, ["--url", "http://workers.e2e.localhost"]);
    // One session per worker, counted across the workers by the primary's /metrics.
    await until("the agent holds a session with both workers", async () => sample(await metricsOf(edge), "onramp_edge_agent_sessions") === 2);

    // Every request on a connection of its own: the cluster deals connections to the workers in turn.
    const replies = await Promise.all(Array.from({ length: 40 }, () => send({ base: edge.httpUrl, host: agent.host, path: "/hello" })));
    expect(replies.map((r) => r.status)).toEqual(replies.map(() => 200));
    await until("both workers logged requests", () => workersServing(edge.proc).size === 2);
    const text = await metricsOf(edge);
    expect(sample(text, "onramp_edge_http_requests_total", { endpoint: "http://workers.e2e.localhost", code: "200" })).toBe(40);
    // Each worker had the agent's session: nothing was relayed from one worker to the other.
    expect(sample(text, "onramp_edge_relay_streams_total", { direction: "outbound" }) ?? 0).toBe(0);
    // The mesh-wide view is one figure, not one per worker, and the agent is one member, not two.
    expect(sample(text, "onramp_edge_endpoints")).toBe(1);
    const listed = (await fetch(`http://${edge.admin}/api/endpoints`).then((r) => r.json())) as { endpoints: Array<{ members: unknown[] }> };
    expect(listed.endpoints.map((e) => e.members.length)).toEqual([1]);
  });

  it("starts a worker that dies again, and the others answer meanwhile", async () => {
    const up = await startUpstream("restart-up");
    upstreams.push(up);
    const edge = await startEdge(["--workers", "2"], "restart-edge");
    const agent = await startAgent(edge, up.target, ["--url", "http://restart.e2e.localhost"]);
    await until("two sessions", async () => sample(await metricsOf(edge), "onramp_edge_agent_sessions") === 2);

    const [, second] = childrenOf(edge.proc.pid);
    process.kill(second!, "SIGKILL");
    await edge.proc.waitForLine("stderr", /"msg":"edge worker died; starting it again"/);
    const during = await Promise.all(Array.from({ length: 20 }, () => send({ base: edge.httpUrl, host: agent.host, path: "/hello" })));
    expect(during.map((r) => r.status)).toEqual(during.map(() => 200));

    await until("the worker is back and the agent has a session with it again", async () => {
      const children = childrenOf(edge.proc.pid);
      return children.length === 2 && !children.includes(second!) && sample(await metricsOf(edge), "onramp_edge_agent_sessions") === 2;
    }, 40_000);
  });

  it("counts a rate limit across the workers, as across the edges of a mesh", async () => {
    const up = await startUpstream("limited-up");
    upstreams.push(up);
    const edge = await startEdge(["--workers", "2"], "limited-edge");
    const policy = join(mkdtempSync(join(tmpdir(), "onramp-workers-")), "limit.yml");
    writeFileSync(policy, "on_http_request:\n  - actions: [{type: rate-limit, config: {algorithm: sliding_window, capacity: 20, rate: 60s, bucket_key: [\"req.headers['x-key'][0]\"]}}]\n");
    const agent = await startAgent(edge, up.target, ["--url", "http://limited.e2e.localhost", "--traffic-policy-file", policy]);
    await until("two sessions", async () => sample(await metricsOf(edge), "onramp_edge_agent_sessions") === 2);
    const statuses: number[] = [];
    for (let i = 0; i < 60; i++) statuses.push((await send({ base: edge.httpUrl, host: agent.host, path: "/hello", headers: { "x-key": "k" } })).status);
    await until("both workers served", () => workersServing(edge.proc).size === 2);
    const allowed = statuses.filter((s) => s === 200).length;
    // Each worker counting alone would allow 20 each (40). Counts go to the other worker at once;
    // a request or two may still get through before they arrive.
    expect(allowed).toBeGreaterThanOrEqual(20);
    expect(allowed).toBeLessThan(30);
    expect(statuses.slice(-10)).toEqual(Array(10).fill(429));
  });

  it("stops every worker on SIGTERM", async () => {
    const edge = await startEdge(["--workers", "2"], "stop-edge");
    const workers = childrenOf(edge.proc.pid);
    expect(workers).toHaveLength(2);
    const exit = await within(20_000, "the edge stops", edge.proc.stop("SIGTERM"));
    expect(exit.code).toBe(0);
    await until("no worker left", () => workers.every((pid) => !alive(pid)));
  });

  it("takes the workers down with a killed primary, freeing their agent ports", async () => {
    const edge = await startEdge(["--workers", "2"], "killed-edge");
    const workers = childrenOf(edge.proc.pid);
    await edge.proc.stop("SIGKILL");
    await until("no worker left", () => workers.every((pid) => !alive(pid)));
  });

  it("refuses a worker count that is not one, naming the flag", async () => {
    const proc = startOnramp("bad-workers", ["edge", "--workers", "0", "--authtoken", "x", "--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0", "--admin-addr", ""]);
    const { code } = await proc.exited;
    expect(code).toBe(1);
    expect(proc.stderr.join("\n")).toMatch(/--workers must be a whole number from 1 to 256, got "0"/);
  });

  it("fails to start, leaving nothing behind, when the agent port is taken", async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const taken = (blocker.address() as { port: number }).port;
    try {
      const proc = startOnramp("taken-port", ["edge", "--workers", "2", "--authtoken", "x", "--http-addr", "127.0.0.1:0", "--grpc-addr", `127.0.0.1:${taken}`, "--admin-addr", "", "--api-addr", ""]);
      const { code } = await within(20_000, "the edge gives up", proc.exited);
      expect(code).toBe(1);
      expect(proc.stderr.join("\n")).toContain(`cannot listen for agent (gRPC) on 127.0.0.1:${taken}: the address is already in use`);
      await until("no process of that edge left", () => processesWith(`127.0.0.1:${taken}`).length === 0);
    } finally {
      blocker.close();
    }
  });

  it("gives a worker another free agent port when port + index is taken, and agents find it", async () => {
    const up = await startUpstream("moved-up");
    upstreams.push(up);
    const { blocker, taken } = await portTakenAfterAFreeOne();
    try {
      // Worker 1 would take the agent port + 1: that one is taken.
      const edge = await startEdge(["--workers", "2", "--grpc-addr", `127.0.0.1:${taken - 1}`], "moved-edge");
      const ready = JSON.parse(edge.proc.stderr.find((l) => l.includes('"msg":"edge ready"'))!) as { workers: Array<{ agent: string }> };
      expect(ready.workers[0]!.agent).toBe(`127.0.0.1:${taken - 1}`);
      expect(ready.workers[1]!.agent).not.toBe(`127.0.0.1:${taken}`);
      expect(edge.proc.stderr.some((l) => l.includes("the agent port + worker index is taken"))).toBe(true);
      await startAgent(edge, up.target, ["--url", "http://moved.e2e.localhost"]);
      await until("the agent holds a session with both workers", async () => sample(await metricsOf(edge), "onramp_edge_agent_sessions") === 2);
    } finally {
      blocker.close();
    }
  });
});

/** A port held by a server of this test whose predecessor is free (for the agent port of worker 0). */
async function portTakenAfterAFreeOne(): Promise<{ blocker: Server; taken: number }> {
  for (let attempt = 0; ; attempt++) {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const taken = (blocker.address() as { port: number }).port;
    const probe: Server = createServer();
    const free = await new Promise<boolean>((resolve) => {
      probe.once("error", () => resolve(false));
      probe.listen(taken - 1, "127.0.0.1", () => resolve(true));
    });
    probe.close();
    if (free || attempt >= 20) return { blocker, taken };
    blocker.close();
  }
}

/** Processes whose command line contains `text`. */
function processesWith(text: string): number[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(text);
      } catch {
        return false;
      }
    })
    .map(Number);
}
