import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, send } from "./harness/http-client.js";
import { membersAt, startMesh, startMeshAgent, startMeshEdge, type Mesh, type MeshEdge } from "./harness/mesh.js";
import { startOnramp, stopAll } from "./harness/processes.js";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startUpstream, type Upstream } from "./harness/upstream.js";

// Three edges in three regions on real etcd and a real 3-node NATS cluster; agents from the
// built CLI. Scenarios run in order: the later ones kill parts of the mesh.
const CLOUD = `
cloud_endpoints:
  - url: http://api.e2e.localhost
    traffic_policy:
      on_http_request:
        - actions: [{type: forward-internal, config: {url: "https://foo.internal"}}]
  - url: http://limited.e2e.localhost
    traffic_policy:
      on_http_request:
        - actions:
            - type: rate-limit
              config: {name: global, algorithm: sliding_window, capacity: 30, rate: 60s, bucket_key: ["'all'"]}
            - type: forward-internal
              config: {url: "https://foo.internal"}
`;

let mesh: Mesh;
let a: MeshEdge, b: MeshEdge, c: MeshEdge;
const upstreams: Upstream[] = [];

async function upstream(name: string): Promise<Upstream> {
  const u = await startUpstream(name);
  upstreams.push(u);
  return u;
}

const get = (edge: MeshEdge, host: string, path = "/whoami") => send({ base: edge.httpUrl, host, path, timeoutMs: 5000 });

beforeAll(async () => {
  mesh = await startMesh({ a: "r-a", b: "r-b", c: "r-c" }, { a: CLOUD });
  ({ a, b, c } = mesh.edges as { a: MeshEdge; b: MeshEdge; c: MeshEdge });
}, 120_000);

afterAll(async () => {
  await stopAll();
  await mesh?.stop();
  await Promise.all(upstreams.map((u) => u.close()));
});

describe("a mesh of three edges", () => {
  it("answers a URL bound at edge C at A and B, through the relay", async () => {
    const up = await upstream("only-c");
    const agent = await startMeshAgent("agent-c", [c], up.target, ["--url", "http://onlyc.e2e.localhost"]);
    for (const edge of [a, b, c]) {
      const reply = await eventually(async () => {
        const r = await get(edge, agent.host);
        expect(r.status).toBe(200);
        return r;
      });
      expect(reply.body).toBe("only-c");
    }
    // The client's address and the X-Forwarded-* headers set at the receiving edge survive the hop.
    const echo = await get(a, agent.host, "/echo");
    expect(JSON.parse(echo.body).headers["x-forwarded-for"]).toBe("127.0.0.1");
  });

  it("pools https://foo.internal across edges: a cloud endpoint defined at A answers at every edge, every member serving", async () => {
    for (const edge of [a, b, c]) await startMeshAgent(`pool-${edge.id}`, [edge], (await upstream(`f${edge.id}`)).target, ["--url", "https://foo.internal", "--pooling-enabled"]);
    await eventually(async () => expect(await membersAt(a, "https://foo.internal")).toHaveLength(3));
    const members = await membersAt(a, "https://foo.internal");
    expect(members.map((m) => [m.edge, m.region]).sort()).toEqual([["a", "r-a"], ["b", "r-b"], ["c", "r-c"]]);
    const served = new Map<string, number>();
    for (const edge of [a, b, c]) {
      await eventually(async () => expect((await get(edge, "api.e2e.localhost")).status).toBe(200));
      for (let i = 0; i < 10; i++) {
        const r = await get(edge, "api.e2e.localhost");
        expect(r.status).toBe(200);
        served.set(r.body, (served.get(r.body) ?? 0) + 1);
      }
    }
    expect([...served.keys()].sort()).toEqual(["fa", "fb", "fc"]);
  });

  it("takes a member whose health check fails out of the pool at every edge, and back when it passes", async () => {
    const [upB, upC] = [await upstream("hc-b"), await upstream("hc-c")];
    // Two failed probes in a row, each given 150 ms: a loaded test machine does not flap a healthy member.
    const checks = ["--pooling-enabled", "--url", "http://hc.e2e.localhost", "--health-check-path", "/healthz", "--health-check-interval", "200ms", "--health-check-timeout", "150ms", "--health-check-unhealthy-threshold", "2", "--health-check-healthy-threshold", "1"];
    await startMeshAgent("hc-b", [b], upB.target, checks);
    await startMeshAgent("hc-c", [c], upC.target, checks);
    const healthAt = async (edge: MeshEdge) => (await membersAt(edge, "http://hc.e2e.localhost")).map((m) => `${m.edge}:${m.healthy}`).sort().join(",");
    for (const edge of [a, b, c]) await eventually(async () => expect(await healthAt(edge)).toBe("b:true,c:true"));

    upC.health.ok = false;
    for (const edge of [a, b, c]) await eventually(async () => expect(await healthAt(edge)).toBe("b:true,c:false"));
    // C prefers its own member and A spreads across both; neither sends anything to C's now.
    for (const edge of [a, c]) {
      const served = await Promise.all(Array.from({ length: 10 }, () => get(edge, "hc.e2e.localhost")));
      expect(served.map((r) => r.body)).toEqual(Array(10).fill("hc-b"));
    }

    upC.health.ok = true;
    await eventually(async () => expect(await healthAt(a)).toBe("b:true,c:true"));
    await eventually(async () => expect((await get(c, "hc.e2e.localhost")).body).toBe("hc-c"));
  });

  it("refuses a non-pooled URL held at A when another agent binds it at B", async () => {
    const up = await upstream("solo");
    await startMeshAgent("solo-a", [a], up.target, ["--url", "http://solo.e2e.localhost"]);
    const second = startOnramp("solo-b", ["http", up.target, "--url", "http://solo.e2e.localhost", "--edge", b.agent, "--authtoken", "e2e-token"]);
    const exit = await second.exited;
    expect(exit.code).toBe(1);
    expect(second.stderr.join("\n")).toMatch(/already bound by another agent without pooling/);
    expect((await get(b, "solo.e2e.localhost")).status).toBe(200);
  });

  it("never hands out the same random URL twice across edges", async () => {
    const up = await upstream("random");
    const agents = await Promise.all([a, b, c, a, b, c].map((edge, i) => startMeshAgent(`random-${i}`, [edge], up.target)));
    expect(new Set(agents.map((x) => new URL(x.url).hostname)).size).toBe(agents.length);
    for (const agent of agents) await eventually(async () => expect((await get(a, agent.host)).status).toBe(200));
    await Promise.all(agents.map((x) => x.proc.stop()));
  });

  it("counts a global rate limit of 30/min at all edges together", async () => {
    let allowed = 0;
    const edges = [a, b, c];
    for (const edge of edges) await eventually(async () => expect((await get(edge, "api.e2e.localhost")).status).toBe(200));
    // Steady load, round robin: 60 requests at 40/s (pacing the load, not waiting for a state).
    for (let i = 0; i < 60; i++) {
      const r = await get(edges[i % 3]!, "limited.e2e.localhost", `/r${i}`);
      expect([200, 429]).toContain(r.status);
      if (r.status === 200) allowed++;
      await new Promise((r) => setTimeout(r, 25));
    }
    console.log(`global rate limit: ${allowed} of 60 allowed for capacity 30 across 3 edges`);
    expect(allowed).toBeGreaterThanOrEqual(28);
    expect(allowed).toBeLessThanOrEqual(31);
  });

  it("loses no request when one NATS node is killed", async () => {
    await mesh.nats.nodes[1]!.kill();
    for (let i = 0; i < 30; i++) expect((await get(a, "api.e2e.localhost")).status).toBe(200);
    for (let i = 0; i < 30; i++) expect((await get(b, "onlyc.e2e.localhost")).status).toBe(200);
    await mesh.nats.nodes[1]!.restart();
  });

  it("falls back to etcd watches while the whole NATS cluster is down", async () => {
    await Promise.all(mesh.nats.nodes.map((n) => n.kill()));
    const up = await upstream("no-nats");
    const agent = await startMeshAgent("no-nats", [b], up.target, ["--url", "http://nonats.e2e.localhost"]);
    // The bind reaches A through the registry alone, and no edge is declared dead meanwhile.
    await eventually(async () => expect((await get(a, agent.host)).body).toBe("no-nats"), 15_000);
    for (let i = 0; i < 10; i++) expect((await get(a, "onlyc.e2e.localhost")).status).toBe(200);
    await Promise.all(mesh.nats.nodes.map((n) => n.restart()));
  });

  it("refuses a pooled bind whose traffic policy differs from the pool's", async () => {
    const up = await upstream("policy-pool");
    const file = join(mkdtempSync(join(tmpdir(), "onramp-policy-")), "p.yml");
    writeFileSync(file, "on_http_request:\n  - actions: [{type: add-headers, config: {headers: {x-pool: one}}}]\n");
    await startMeshAgent("policy-1", [a], up.target, ["--url", "https://policy.internal", "--pooling-enabled", "--traffic-policy-file", file]);
    const second = startOnramp("policy-2", ["http", up.target, "--url", "https://policy.internal", "--pooling-enabled", "--edge", b.agent, "--authtoken", "e2e-token"]);
    expect((await second.exited).code).toBe(1);
    expect(second.stderr.join("\n")).toMatch(/every member of a pool must bind with the same policy/);
  });

  it("keeps serving through etcd being down for 30 s, and reconciles after", async () => {
    await mesh.etcd.kill(); // SIGKILL, data kept: it comes back with everything it had
    const stoppedAt = Date.now();
    let requests = 0;
    while (Date.now() - stoppedAt < 30_000) {
      expect((await get(b, "onlyc.e2e.localhost")).status).toBe(200);
      expect((await get(c, "api.e2e.localhost")).status).toBe(200);
      requests += 2;
      await new Promise((r) => setTimeout(r, 250));
    }
    await mesh.etcd.restart();
    console.log(`etcd down 30 s: ${requests} requests, all 200`);
    // After: a new bind is decided by etcd again and reaches every edge.
    const up = await upstream("after-etcd");
    const agent = await startMeshAgent("after-etcd", [b], up.target, ["--url", "http://afteretcd.e2e.localhost"]);
    for (const edge of [a, c]) await eventually(async () => expect((await get(edge, agent.host)).body).toBe("after-etcd"), 15_000);
  });

  it("keeps an agent on two edges serving when one of them is SIGKILLed", async () => {
    const up = await upstream("two");
    // A fourth edge to kill, so the others stay for the next scenario.
    const d = await startMeshEdge("d", "r-d", mesh.etcd.url, mesh.nats.urls[0]!);
    const agent = await startMeshAgent("two-edges", [d, a], up.target, ["--url", "http://two.e2e.localhost"]);
    await eventually(async () => expect((await membersAt(a, "http://two.e2e.localhost")).map((m) => m.edge).sort()).toEqual(["a", "d"]));
    await d.proc.stop("SIGKILL");
    for (let i = 0; i < 40; i++) expect((await get(a, agent.host)).status).toBe(200);
    expect(agent.proc.hasExited).toBe(false);
  });

  it("drops a SIGKILLed edge's members from every pool within 3 s", async () => {
    expect((await membersAt(a, "https://foo.internal")).some((m) => m.edge === "c")).toBe(true);
    const killed = Date.now();
    await c.proc.stop("SIGKILL");
    await eventually(async () => {
      expect((await membersAt(a, "https://foo.internal")).some((m) => m.edge === "c")).toBe(false);
      expect((await membersAt(b, "https://foo.internal")).some((m) => m.edge === "c")).toBe(false);
    }, 10_000, 20);
    const ms = Date.now() - killed;
    console.log(`dead edge detected after ${ms} ms`);
    for (let i = 0; i < 20; i++) expect((await get(b, "api.e2e.localhost")).status).toBe(200);
  });
});
