// The mesh under test: one etcd, one NATS server, `onramp edge` processes joined to both, and
// `onramp http` agents; plus the edges' admin API read over keep-alive connections, often enough
// to time a change to within a few milliseconds.
import { existsSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { Agent, request } from "node:http";
import { join } from "node:path";
import { freePort, httpGet } from "./http-get.mjs";
import { poll, sleep, startProcess } from "./processes.mjs";
import { AUTHTOKEN, ONRAMP_BIN } from "./targets.mjs";

export const CLUSTER_SECRET = "benchsecret";
export const MESH_DOMAIN = "bench.localhost";

/**
 * @typedef {import("./processes.mjs").Proc} Proc
 * @typedef {{ proc: Proc, id: string, region: string, http: string, agent: string, admin: string, args: string[] }} MeshEdge
 * @typedef {{ id: string, edge: string, region: string, local: boolean, session_id: string, agent_id: string }} MemberView
 * @typedef {{ url: string, pooling: boolean, cloud: boolean, members: MemberView[] }} EndpointView
 */

/**
 * A single-member etcd on loopback: its own client and peer ports, a data dir under `tmp`.
 * @param {string} tmp @returns {Promise<{ proc: Proc, url: string }>}
 */
export async function startEtcd(tmp) {
  const binary = ["/usr/bin/etcd", "/usr/local/bin/etcd"].find((p) => existsSync(p)) ?? "etcd";
  const url = `http://127.0.0.1:${await freePort()}`;
  const peer = `http://127.0.0.1:${await freePort()}`;
  const dataDir = await mkdtemp(join(tmp, "etcd-"));
  const { proc } = await startProcess({
    name: "etcd",
    command: binary,
    args: ["--name", "bench", "--data-dir", dataDir, "--listen-client-urls", url, "--advertise-client-urls", url,
      "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer, "--initial-cluster", `bench=${peer}`,
      "--initial-cluster-state", "new", "--logger", "zap", "--log-level", "warn"],
    probe: async () => {
      const { status, body } = await httpGet(`${url}/health`, { timeoutMs: 500 });
      return status === 200 && JSON.parse(body).health === "true";
    },
    timeoutMs: 20_000,
  });
  return { proc, url };
}

/** One nats-server on loopback. @returns {Promise<{ proc: Proc, url: string }>} */
export async function startNats() {
  const port = await freePort();
  const { proc } = await startProcess({
    name: "nats-server",
    command: existsSync("/usr/sbin/nats-server") ? "/usr/sbin/nats-server" : "nats-server",
    args: ["-a", "127.0.0.1", "-p", String(port)],
    ready: (line) => line.includes("Server is ready"),
  });
  return { proc, url: `nats://127.0.0.1:${port}` };
}

/**
 * `onramp edge` joined to the mesh. Without `addresses` it listens on kernel-chosen ports (read
 * from its "edge ready" line); with them (a restart) on the same ones again.
 * @param {{ id: string, region?: string, etcd: string, nats: string, config?: string, addresses?: { http: string, agent: string, admin: string } }} o
 * @returns {Promise<MeshEdge>}
 */
export async function startMeshEdge(o) {
  const region = o.region ?? `r-${o.id}`;
  const at = o.addresses ?? { http: "127.0.0.1:0", agent: "127.0.0.1:0", admin: "127.0.0.1:0" };
  // One process per edge (the edge's default is one per core): a, b and c are the mesh's members.
  const args = [ONRAMP_BIN, "edge", "--workers", "1", "--edge-id", o.id, "--region", region, "--etcd", o.etcd, "--nats", o.nats,
    "--cluster-secret", CLUSTER_SECRET, "--authtoken", AUTHTOKEN, "--http-addr", at.http, "--grpc-addr", at.agent,
    "--admin-addr", at.admin, "--domain", MESH_DOMAIN, ...(o.config ? ["--config", o.config] : [])];
  const { proc, info } = await startProcess({
    name: `edge-${o.id}`,
    command: process.execPath,
    args,
    readyOn: "stderr",
    ready: (line) => {
      if (!line.includes('"edge ready"')) return undefined;
      const { http, agent, admin } = JSON.parse(line);
      return { http, agent, admin };
    },
    timeoutMs: 20_000,
  });
  return { proc, id: o.id, region, args, ...info };
}

/**
 * `onramp http` bound to `url` through the listed edges. Resolves when it prints `Forwarding`,
 * with the time (performance.now()) that line was read.
 * @param {{ name: string, upstream: string, edges: string[], url: string, pooling?: boolean, timeoutMs?: number }} o
 * @returns {Promise<{ proc: Proc, forwardingAt: number }>}
 */
export async function startMeshAgent(o) {
  const { proc, info } = await startProcess({
    name: o.name,
    command: process.execPath,
    args: [ONRAMP_BIN, "http", o.upstream, "--edge", o.edges.join(","), "--authtoken", AUTHTOKEN, "--url", o.url,
      ...(o.pooling ? ["--pooling-enabled"] : [])],
    readyOn: "stdout",
    ready: (line) => line.startsWith("Forwarding ") && performance.now(),
    timeoutMs: o.timeoutMs ?? 15_000,
  });
  return { proc, forwardingAt: /** @type {number} */ (info) };
}

/** Keep-alive connections to the admin APIs: a poll every few ms must not cost a handshake each. */
const adminAgent = new Agent({ keepAlive: true, maxSockets: 4 });

/**
 * Every endpoint edge `admin` lists (GET /api/endpoints); rejects when it does not answer.
 * @param {string} admin host:port @param {number} [timeoutMs] @returns {Promise<EndpointView[]>}
 */
export function endpointsAt(admin, timeoutMs = 1_000) {
  return new Promise((resolve, reject) => {
    const req = request(`http://${admin}/api/endpoints`, { agent: adminAgent, timeout: timeoutMs }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (s) => (body += s));
      res.on("end", () => {
        if (res.statusCode !== 200) return reject(new Error(`GET ${admin}/api/endpoints: ${res.statusCode}`));
        try {
          resolve(JSON.parse(body).endpoints);
        } catch (error) {
          reject(error);
        }
      });
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${admin}/api/endpoints: no answer in ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end();
  });
}

/**
 * The members listed for the endpoint whose host is `host`, [] when there is none.
 * @param {EndpointView[]} endpoints @param {string} host @returns {MemberView[]}
 */
export function membersOf(endpoints, host) {
  return endpoints.find((e) => new URL(e.url).hostname === host)?.members ?? [];
}

/**
 * Polls edge `admin` every `intervalMs` until `test` holds for its endpoint list; resolves with the
 * time (performance.now()) the first answer that passed arrived, and that answer. An edge that does
 * not answer counts as "not yet".
 * @param {string} what @param {string} admin @param {(endpoints: EndpointView[]) => boolean} test
 * @param {{ timeoutMs?: number, intervalMs?: number, cancel?: { cancelled: boolean } }} [o]
 * @returns {Promise<{ at: number, endpoints: EndpointView[] }>}
 */
export async function watchAdmin(what, admin, test, { timeoutMs = 10_000, intervalMs = 5, cancel } = {}) {
  const deadline = performance.now() + timeoutMs;
  let last = "no answer yet";
  while (performance.now() < deadline && !cancel?.cancelled) {
    try {
      const endpoints = await endpointsAt(admin);
      const at = performance.now();
      if (test(endpoints)) return { at, endpoints };
      last = `last answer: ${JSON.stringify(endpoints.map((e) => [e.url, e.members.map((m) => m.edge)]))}`;
    } catch (error) {
      last = /** @type {Error} */ (error).message;
    }
    await sleep(intervalMs);
  }
  throw new Error(`${what}: not seen ${cancel?.cancelled ? "before it was cancelled" : `within ${timeoutMs} ms`} (${last.slice(0, 300)})`);
}

/**
 * Waits until a request for `host` through edge `http` (host:port) answers `status`.
 * @param {string} http @param {string} host @param {number} [status]
 */
export function waitServing(http, host, status = 200) {
  return poll(`GET http://${host}/hello via ${http}`, async () => (await httpGet(`http://${http}/hello`, { host })).status === status,
    { attempts: 200, intervalMs: 50 });
}

/** Closes the idle admin connections (the harness should not keep sockets to dead edges). */
export function closeAdminConnections() {
  adminAgent.destroy();
}
