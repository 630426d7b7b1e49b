import { authtokenKey, createEtcdControlStore, domainKey, type ControlStore } from "@onramp/registry";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TOKEN } from "./harness/cluster.js";
import { eventually, send } from "./harness/http-client.js";
import { membersAt, startMesh, startMeshAgent, type Mesh, type MeshEdge } from "./harness/mesh.js";
import { startOnramp, stopAll } from "./harness/processes.js";
import { startUpstream, type Upstream } from "./harness/upstream.js";
import { within } from "./harness/within.js";

// Registry authtokens and reserved domains, enforced by three edges on real etcd and a real
// 3-node NATS cluster. Tokens are written straight into etcd with the control store, as
// `onramp registry` does; agents are the built CLI.

let mesh: Mesh;
let control: ControlStore;
let a: MeshEdge, b: MeshEdge, c: MeshEdge;
let up: Upstream;

beforeAll(async () => {
  mesh = await startMesh({ a: "r-a", b: "r-b", c: "r-c" });
  ({ a, b, c } = mesh.edges as { a: MeshEdge; b: MeshEdge; c: MeshEdge });
  control = createEtcdControlStore({ endpoints: [mesh.etcd.url] });
  up = await startUpstream("access");
}, 120_000);

afterAll(async () => {
  await stopAll();
  await control?.close();
  await mesh?.stop();
  await up?.close();
});

const get = (edge: MeshEdge, host: string) => send({ base: edge.httpUrl, host, path: "/whoami", timeoutMs: 5000 });

/** Resolves once every edge has applied the change of `key` (its debug log says so). */
async function everyEdgeSaw(key: string): Promise<void> {
  const saw = (line: string) => line.includes('"msg":"access changed"') && line.includes(`"key":"${key}"`);
  await Promise.all([a, b, c].map((edge) => edge.proc.waitForLine("stderr", saw, 5000)));
}

/** A registry token with these rules, known to every edge. */
async function tokenWith(...acl: string[]): Promise<{ id: string; token: string }> {
  const { record, token } = await control.createAuthtoken({ description: "e2e", acl });
  await everyEdgeSaw(authtokenKey(record.id));
  return { id: record.id, token };
}

/** Runs an agent with sessions to every edge that is to bind `url`; resolves with its stderr once it exits 1. */
async function refused(name: string, token: string, url: string): Promise<string> {
  const agent = startOnramp(name, ["http", up.target, "--edge", [a, b, c].map((e) => e.agent).join(","), "--authtoken", token, "--url", url]);
  const { code } = await within(20_000, `${name} to exit`, agent.exited);
  expect(code, agent.output()).toBe(1);
  expect(agent.stdout.some((line) => line.startsWith("Forwarding"))).toBe(false);
  return agent.stderr.join("\n");
}

describe("authtokens and ACLs across a mesh of three edges", () => {
  it("binds what a token's ACL allows at every edge, and refuses the rest naming the URL and the rule", async () => {
    const { token } = await tokenWith("bind:foo.internal");
    await startMeshAgent("acl-foo", [a, b, c], up.target, ["--authtoken", token, "--url", "https://foo.internal"]);
    for (const edge of [a, b, c]) await eventually(async () => expect(await membersAt(edge, "https://foo.internal")).toHaveLength(3));

    expect(await refused("acl-bar", token, "https://bar.internal")).toContain(
      "onramp: error: binding https://bar.internal is denied: no rule allows binding bar.internal; add bind:bar.internal or bind:*.internal",
    );
    expect(await refused("acl-wildcard", token, "https://*.foo.internal")).toContain(
      "onramp: error: binding https://*.foo.internal is denied: no rule allows binding *.foo.internal; add bind:*.foo.internal or bind:*.internal",
    );
    // No endpoint may be `*.internal` (a wildcard needs a domain below it): refused before any ACL.
    expect(await refused("acl-all-internal", token, "https://*.internal")).toMatch(/"https:\/\/\*\.internal" is not an endpoint URL/);
  });

  it("lets a token without rules bind a random URL, the same at every edge, and nothing it names", async () => {
    const { token } = await tokenWith();
    const agent = await startMeshAgent("acl-random", [a, b, c], up.target, ["--authtoken", token]);
    for (const edge of [a, b, c]) {
      await eventually(async () => expect(await membersAt(edge, agent.url)).toHaveLength(3));
      expect((await get(edge, agent.host)).body).toBe("access");
    }
    expect(await refused("acl-named", token, "http://mine.e2e.localhost")).toContain(
      "binding http://mine.e2e.localhost is denied: no rule allows binding mine.e2e.localhost (this authtoken has no ACL rules, so it may bind only random URLs)",
    );
  });

  it("keeps a reserved domain to the tokens whose ACL names it, refusing the edge's own tokens", async () => {
    await control.reserveDomain({ name: "*.vip.e2e.localhost", description: "e2e" });
    await everyEdgeSaw(domainKey("*.vip.e2e.localhost"));
    expect(await refused("reserved-bootstrap", TOKEN, "http://shop.vip.e2e.localhost")).toContain(
      "onramp: error: binding http://shop.vip.e2e.localhost is denied: shop.vip.e2e.localhost is under the reserved domain *.vip.e2e.localhost, which only a registry authtoken whose ACL allows it may bind",
    );
    const other = await tokenWith("bind:foo.internal");
    expect(await refused("reserved-other", other.token, "http://shop.vip.e2e.localhost")).toContain(
      "onramp: error: binding http://shop.vip.e2e.localhost is denied: shop.vip.e2e.localhost is under the reserved domain *.vip.e2e.localhost, and no rule allows binding shop.vip.e2e.localhost; add bind:shop.vip.e2e.localhost or bind:*.vip.e2e.localhost",
    );
    const owner = await tokenWith("bind:*.vip.e2e.localhost");
    const agent = await startMeshAgent("reserved-owner", [a, b, c], up.target, ["--authtoken", owner.token, "--url", "http://shop.vip.e2e.localhost"]);
    for (const edge of [a, b, c]) await eventually(async () => expect((await get(edge, agent.host)).body).toBe("access"));
  });

  it("revoking a token ends its sessions at every edge within a second, and its endpoint goes offline everywhere", async () => {
    const { id, token } = await tokenWith("bind:pool.e2e.localhost");
    // One agent per edge: each session can end only by its own edge's doing.
    const agents = [];
    for (const edge of [a, b, c]) {
      agents.push(await startMeshAgent(`revoke-${edge.id}`, [edge], up.target, ["--authtoken", token, "--url", "http://pool.e2e.localhost", "--pooling-enabled"]));
    }
    for (const edge of [a, b, c]) {
      await eventually(async () => expect(await membersAt(edge, "http://pool.e2e.localhost")).toHaveLength(3));
      expect((await get(edge, "pool.e2e.localhost")).status).toBe(200);
    }

    const revokedAt = performance.now();
    const ended = [a, b, c].map((edge) =>
      edge.proc.waitForLine("stderr", (l) => l.includes('"msg":"authtoken revoked: ending its session"') && l.includes(id), 5000).then(() => performance.now() - revokedAt),
    );
    await control.revokeAuthtoken(id);
    const endedAfter = await Promise.all(ended);
    const offlineAfter = await eventually(
      async () => {
        for (const edge of [a, b, c]) {
          const reply = await get(edge, "pool.e2e.localhost");
          expect([502, 503], `${edge.id}: ${reply.status} ${reply.body}`).toContain(reply.status);
          expect(reply.headers["onramp-error-code"]).toMatch(/^ERR_ONRAMP_/);
        }
        return performance.now() - revokedAt;
      },
      5000,
      20,
    );
    console.log(`revoked: sessions ended after ${endedAfter.map((ms) => Math.round(ms)).join(", ")} ms, offline at every edge after ${Math.round(offlineAfter)} ms`);
    // Timings are reported, not asserted (the waits above are bounded); the figures go in the notes.
    for (const agent of agents) {
      const { code } = await within(10_000, `${agent.proc.name} to exit`, agent.proc.exited);
      expect(code, agent.proc.output()).toBe(1);
      // Revoked, or (when the data connection's close reaches the agent before the session's
      // status does) rejected on the reconnect that follows: either way the agent stops, saying so.
      expect(agent.proc.stderr.join("\n")).toMatch(/onramp: error: authtoken (revoked: tok_\w+ was deleted from the registry|rejected by the edge)/);
    }
  });

  it("serves a cloud endpoint created through onramp registry and onramp api at every edge, and 404 once deleted", async () => {
    const registry = startOnramp("registry", ["registry", "--etcd", mesh.etcd.url, "--api-addr", "127.0.0.1:0", "--api-key", "e2e-registry-api-key", "--log-format", "json"]);
    const ready = await registry.waitForLine("stderr", /"msg":"registry API ready"/, 20_000);
    const apiUrl = `http://${(JSON.parse(ready) as { address: string }).address}`;
    const dir = mkdtempSync(join(tmpdir(), "onramp-access-"));
    const policy = join(dir, "cloud.yml");
    writeFileSync(policy, "on_http_request:\n  - actions: [{type: custom-response, config: {status_code: 200, body: from the api}}]\n");
    const api = async (args: string[]) => {
      const proc = startOnramp("api", ["api", ...args, "--api-url", apiUrl, "--api-key", "e2e-registry-api-key", "--json"]);
      const { code } = await proc.exited;
      expect(code, proc.output()).toBe(0);
      return proc.stdout.join("\n");
    };
    const { id } = JSON.parse(await api(["cloud-endpoints", "create", "--url", "http://cloud.e2e.localhost", "--traffic-policy-file", policy])) as { id: string };
    for (const edge of [a, b, c]) await eventually(async () => expect((await get(edge, "cloud.e2e.localhost")).body).toBe("from the api"), 5000);
    await api(["cloud-endpoints", "delete", id]);
    for (const edge of [a, b, c]) {
      await eventually(async () => {
        const reply = await get(edge, "cloud.e2e.localhost");
        expect([reply.status, reply.headers["onramp-error-code"]]).toEqual([404, "ERR_ONRAMP_ENDPOINT_NOT_FOUND"]);
      }, 5000);
    }
    expect((await registry.stop("SIGTERM")).code).toBe(0);
  });
});
