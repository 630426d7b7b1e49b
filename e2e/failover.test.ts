import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { restartEdge, startAgent, startEdge, TOKEN, type EdgeProcess } from "./harness/cluster.js";
import { eventually, send } from "./harness/http-client.js";
import { startOnramp, stopAll } from "./harness/processes.js";
import { startUpstream, type Upstream } from "./harness/upstream.js";

let upstreamA: Upstream;
let upstreamB: Upstream;
let edge: EdgeProcess;

beforeAll(async () => {
  upstreamA = await startUpstream("A");
  upstreamB = await startUpstream("B");
  edge = await startEdge();
});

afterAll(async () => {
  await stopAll();
  await upstreamA.close();
  await upstreamB.close();
});

describe("agents coming and going", () => {
  it("answers 502/503 with an error code, not a hang, when the agent is killed mid-request", async () => {
    const agent = await startAgent(edge, upstreamA.target, ["--url", "http://killed.e2e.localhost"]);
    const inFlight = send({ base: edge.httpUrl, host: agent.host, path: "/slow/5000", timeoutMs: 4000 });
    await new Promise((r) => setTimeout(r, 200));
    const killedAt = Date.now();
    await agent.proc.stop("SIGKILL");
    const reply = await inFlight;
    const tookMs = Date.now() - killedAt;
    expect(reply.status).toBe(502);
    expect(reply.headers["onramp-error-code"]).toBe("ERR_ONRAMP_AGENT_DISCONNECTED");
    // New requests: the endpoint is known to be offline.
    const after = await send({ base: edge.httpUrl, host: agent.host, path: "/hello", timeoutMs: 4000 });
    expect(after.status).toBe(503);
    expect(after.headers["onramp-error-code"]).toBe("ERR_ONRAMP_ENDPOINT_OFFLINE");
    console.log(`in-flight request answered ${tookMs} ms after SIGKILL`);
  });

  it("is online again when the agent restarts", async () => {
    const first = await startAgent(edge, upstreamA.target, ["--url", "http://restart.e2e.localhost"]);
    await first.proc.stop("SIGKILL");
    const second = await startAgent(edge, upstreamA.target, ["--url", "http://restart.e2e.localhost"]);
    const reply = await send({ base: edge.httpUrl, host: second.host, path: "/hello" });
    expect(reply.status).toBe(200);
    await second.proc.stop();
  });

  it("finishes in-flight requests and exits 0 on SIGTERM, refusing new ones meanwhile", async () => {
    const agent = await startAgent(edge, upstreamA.target, ["--url", "http://drain.e2e.localhost"]);
    const inFlight = send({ base: edge.httpUrl, host: agent.host, path: "/slow/800" });
    await new Promise((r) => setTimeout(r, 150));
    const exited = agent.proc.stop("SIGTERM");
    await new Promise((r) => setTimeout(r, 150));
    const refused = await send({ base: edge.httpUrl, host: agent.host, path: "/hello" });
    expect(refused.status).toBe(503);
    const reply = await inFlight;
    expect(reply.status).toBe(200);
    expect(reply.body).toBe("slept 800\n");
    expect((await exited).code).toBe(0);
  });

  it("reconnects and rebinds the same URL after the edge restarts", async () => {
    const agent = await startAgent(edge, upstreamA.target, ["--url", "http://survivor.e2e.localhost"]);
    edge = await restartEdge(edge);
    const reply = await eventually(async () => {
      const r = await send({ base: edge.httpUrl, host: agent.host, path: "/hello" });
      if (r.status !== 200) throw new Error(`status ${r.status}`);
      return r;
    }, 15_000);
    expect(reply.body).toBe("hello from upstream\n");
    expect(agent.proc.stdout).toHaveLength(1);
    expect(agent.proc.stderr.join("\n")).toContain("reconnected to");
    await agent.proc.stop();
  });
});

describe("pools on one edge", () => {
  it("spreads traffic across two agents and moves it all to the survivor when one leaves", async () => {
    const a = await startAgent(edge, upstreamA.target, ["--url", "http://pool.e2e.localhost", "--pooling-enabled"], "agent-A");
    const b = await startAgent(edge, upstreamB.target, ["--url", "http://pool.e2e.localhost", "--pooling-enabled"], "agent-B");
    const count = async (n: number) => {
      const seen: Record<string, number> = {};
      for (let i = 0; i < n; i++) {
        const reply = await send({ base: edge.httpUrl, host: a.host, path: "/whoami" });
        expect(reply.status).toBe(200);
        seen[reply.body] = (seen[reply.body] ?? 0) + 1;
      }
      return seen;
    };
    const both = await count(100);
    expect(both.A).toBeGreaterThanOrEqual(40);
    expect(both.B).toBeGreaterThanOrEqual(40);

    const endpoints = (await fetch(`http://${edge.admin}/api/endpoints`).then((r) => r.json())) as { endpoints: Array<Record<string, unknown>> };
    const pool = endpoints.endpoints.find((e) => e.url === "http://pool.e2e.localhost")!;
    expect(pool.pooling_enabled).toBe(true);
    expect(pool.members).toHaveLength(2);

    await a.proc.stop("SIGTERM");
    expect(await count(20)).toEqual({ B: 20 });
    await b.proc.stop();
  });

  it("refuses a pooled bind onto a URL bound without pooling", async () => {
    const solo = await startAgent(edge, upstreamA.target, ["--url", "http://solo.e2e.localhost"]);
    const pooled = startOnramp("agent-pooled", ["http", upstreamB.target, "--edge", edge.agent, "--authtoken", TOKEN, "--url", "http://solo.e2e.localhost", "--pooling-enabled"]);
    expect((await pooled.exited).code).toBe(1);
    expect(pooled.stderr.join("\n")).toContain("already bound by another agent without pooling");
    await solo.proc.stop();
  });
});
