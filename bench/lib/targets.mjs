// The systems under test. Each `start*` brings one up in front of the shared upstream, waits until
// a request through it succeeds, and returns where to send load and how to stop it.
import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, httpGet } from "./http-get.mjs";
import { poll, startProcess } from "./processes.mjs";

const LIB = dirname(fileURLToPath(import.meta.url));
export const BENCH_DIR = dirname(LIB);
export const REPO_DIR = dirname(BENCH_DIR);
export const PEERS_DIR = join(BENCH_DIR, ".peers");
export const ONRAMP_BIN = join(REPO_DIR, "cli/bin/onramp.js");
export const AGENT_LIB = join(REPO_DIR, "services/agent/dist/index.js");
/** Shared by the edge and every agent; the bench never leaves loopback. */
export const AUTHTOKEN = "bench-token";
const ONRAMP_HOST = "app.bench.localhost";
const PIPENET_DOMAIN = "pipenet.localhost";

/**
 * @typedef {object} Target
 * @property {string} base scheme://host:port to send requests to
 * @property {string} [host] Host header to send (tunnels route on it)
 * @property {import("./processes.mjs").Proc[]} procs
 * @property {() => Promise<void>} stop
 * @property {import("./processes.mjs").Proc} [edge] onramp: the edge process
 * @property {import("./processes.mjs").Proc} [agent] onramp: the agent process
 * @property {string} [admin] onramp: the edge's admin address (host:port; GET /metrics)
 *
 * @typedef {object} Context
 * @property {string} upstream host:port of the upstream
 * @property {string} tmp scratch directory for this run
 * @property {number} [rttMs] round trip to inject between a tunnel's client and server (tunnels only)
 * @property {string} [policyFile] traffic policy for the onramp agent's endpoint (onramp only)
 * @property {string[]} [edgeArgs] flags for `onramp edge` (default: --no-access-log, as nginx runs here)
 * @property {string[]} [agentArgs] flags for `onramp http` (default: --inspect=false)
 * @property {NodeJS.ProcessEnv} [env] environment of both onramp processes (e.g. OTEL_* for tracing)
 * @property {number} [workers] onramp: `onramp edge --workers` (default 1: one edge process, as every
 *   onramp row measured before `--workers` existed; the edge's own default is the core count)
 * @property {string} [edgeCpus] onramp: CPUs the edge and its workers may run on (`taskset -c`), default any
 *
 * @typedef {{ edge: string, agent: string, admin: string }} EdgeWorker one edge worker: its edge id, agent and admin addresses
 */

/** @param {Context} ctx @returns {Promise<Target>} */
export async function startDirect(ctx) {
  return { base: `http://${ctx.upstream}`, procs: [], stop: async () => {} };
}

/**
 * nginx 1.22 (Debian) as a one-hop reverse proxy, configured the way one would for an API:
 * one worker (the machine has two cores and the load generator needs one), keep-alive to the
 * upstream, no access log, bodies streamed rather than spooled to disk.
 * @param {Context} ctx @returns {Promise<Target>}
 */
export async function startNginx(ctx) {
  const proc = await startNginxProxy(ctx.tmp, "nginx", ctx.upstream);
  return { base: `http://${proc.address}`, procs: [proc], stop: () => proc.stop() };
}

/**
 * nginx chained twice (client → nginx → nginx → upstream), each hop configured as `startNginx`'s,
 * keep-alive on both: the structural reference for a tunnel (edge → agent → upstream).
 * @param {Context} ctx @returns {Promise<Target>}
 */
export async function startNginx2(ctx) {
  const inner = await startNginxProxy(ctx.tmp, "nginx-inner", ctx.upstream);
  try {
    const outer = await startNginxProxy(ctx.tmp, "nginx-outer", inner.address);
    const procs = [outer, inner];
    return { base: `http://${outer.address}`, procs, stop: () => Promise.allSettled(procs.map((p) => p.stop())).then(() => {}) };
  } catch (error) {
    await inner.stop();
    throw error;
  }
}

/**
 * One nginx process proxying to `upstream`, config and temp files in `<tmp>/<name>`; resolves once
 * a request through it succeeds.
 * @param {string} tmp @param {string} name @param {string} upstream host:port
 */
async function startNginxProxy(tmp, name, upstream) {
  const dir = join(tmp, name);
  await mkdir(dir, { recursive: true });
  const port = await freePort();
  await writeFile(join(dir, "nginx.conf"), nginxConf(dir, upstream, port));
  const address = `127.0.0.1:${port}`;
  const { proc } = await startProcess({
    name,
    command: existsSync("/usr/sbin/nginx") ? "/usr/sbin/nginx" : "nginx",
    args: ["-p", dir, "-c", join(dir, "nginx.conf"), "-e", join(dir, "error.log")],
    probe: () => hello(`http://${address}`),
  });
  return Object.assign(proc, { address });
}

/** @param {string} dir @param {string} upstream host:port @param {number} port */
function nginxConf(dir, upstream, port) {
  return `
daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  upstream app {
    server ${upstream};
    keepalive 64;
    keepalive_requests 1000000;
  }
  server {
    listen 127.0.0.1:${port} backlog=4096;
    client_max_body_size 0;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_request_buffering off;
      proxy_max_temp_file_size 0;
    }
  }
}
`;
}

/**
 * pipenet 1.4 (npm): server and client as two processes, the client's 10 TCP sockets either
 * straight to the server or through a delay proxy.
 * @param {Context} ctx @returns {Promise<Target>}
 */
export async function startPipenet(ctx) {
  if (!existsSync(join(PEERS_DIR, "node_modules/pipenet/package.json"))) {
    throw new Error(`pipenet is not installed in ${PEERS_DIR} (bench/run.sh installs it)`);
  }
  /** @type {import("./processes.mjs").Proc[]} */
  const procs = [];
  const stop = () => Promise.allSettled(procs.map((p) => p.stop())).then(() => {});
  try {
    const advertise = ctx.rttMs ? await freePort() : undefined;
    const server = await startProcess({
      name: "pipenet-server",
      command: process.execPath,
      args: [join(LIB, "pipenet-server.mjs"), "--peers", PEERS_DIR, "--domain", PIPENET_DOMAIN,
        ...(advertise ? ["--advertise-port", String(advertise)] : [])],
      readyOn: "stdout",
      ready: (line) => /^pipenet-server http=(\S+) tunnel=(\S+)$/.exec(line),
    });
    procs.push(server.proc);
    const [, http, tunnel] = server.info;
    if (advertise && ctx.rttMs) {
      procs.push(await startDelayProxy(tunnel, ctx.rttMs, advertise));
    }
    const client = await startProcess({
      name: "pipenet-client",
      command: process.execPath,
      args: [join(LIB, "pipenet-client.mjs"), "--peers", PEERS_DIR, "--port", ctx.upstream.split(":")[1],
        "--server", `http://${http}`, "--subdomain", "bench"],
      readyOn: "stdout",
      ready: (line) => line.startsWith("pipenet-client url="),
    });
    procs.push(client.proc);
    const base = `http://${http}`;
    const host = `bench.${PIPENET_DOMAIN}`;
    // Wait for all 10 tunnel sockets, not just the first: load would otherwise start on fewer.
    await poll("pipenet tunnel sockets", async () => {
      const { status, body } = await httpGet(`${base}/api/tunnels/bench/status`);
      return status === 200 && JSON.parse(body).connectedSockets >= 10;
    });
    await poll("pipenet /hello", () => hello(base, host));
    return { base, host, procs, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * onramp through one edge: `onramp edge` and `onramp http` as two processes, the agent's
 * connections either straight to the edge or through a delay proxy.
 * @param {Context} ctx @returns {Promise<Target>}
 */
export async function startOnramp(ctx) {
  if (!existsSync(ONRAMP_BIN) || !existsSync(join(REPO_DIR, "cli/dist"))) {
    throw new Error(`onramp is not built (${ONRAMP_BIN}); run npm run build`);
  }
  /** @type {import("./processes.mjs").Proc[]} */
  const procs = [];
  const stop = () => Promise.allSettled(procs.map((p) => p.stop())).then(() => {});
  try {
    const edge = await startEdge(ctx.edgeArgs, ctx.env, { workers: ctx.workers, cpus: ctx.edgeCpus });
    procs.push(edge.proc);
    let agentAddr = edge.agent;
    if (ctx.rttMs) {
      const proxy = await startDelayProxy(edge.agent, ctx.rttMs);
      procs.push(proxy);
      agentAddr = proxy.address;
    }
    const agent = await startProcess({
      name: "onramp-agent",
      command: process.execPath,
      args: [
        ONRAMP_BIN, "http", ctx.upstream, "--url", `http://${ONRAMP_HOST}`, "--edge", agentAddr, "--authtoken", AUTHTOKEN,
        ...(ctx.policyFile ? ["--traffic-policy-file", ctx.policyFile] : []),
        // Like nginx's `access_log off` here; the observability bench measures what these cost.
        ...(ctx.agentArgs ?? ["--inspect=false"]),
      ],
      env: ctx.env,
      readyOn: "stdout",
      ready: (line) => line.startsWith("Forwarding "),
    });
    procs.push(agent.proc);
    const base = `http://${edge.http}`;
    await poll("onramp /hello", () => hello(base, ONRAMP_HOST));
    // Agents bind at every worker; until they have, a worker without the session relays to one that has.
    if (edge.workers.length > 1) {
      await poll(`${NOT_BOUND_AT_EVERY_WORKER} (each worker's own admin API lists a local member)`, () => boundAtEvery(edge.workers));
    }
    return { base, host: ONRAMP_HOST, procs, stop, edge: edge.proc, agent: agent.proc, admin: edge.admin };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * `onramp edge` on loopback with random ports; resolves with the addresses from its "edge ready" log
 * line. `workers` is passed explicitly (default 1, one process): the edge's own default is the core
 * count. With `cpus`, the edge runs under `taskset -c cpus`, and so do the workers it forks.
 * @param {string[]} [extraArgs] @param {NodeJS.ProcessEnv} [env]
 * @param {{ workers?: number, cpus?: string }} [o]
 * @returns {Promise<{ proc: import("./processes.mjs").Proc, http: string, agent: string, admin: string, workers: EdgeWorker[] }>}
 */
export async function startEdge(extraArgs = ["--no-access-log"], env = undefined, { workers = 1, cpus } = {}) {
  const args = [ONRAMP_BIN, "edge", "--workers", String(workers), "--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0",
    "--admin-addr", "127.0.0.1:0", "--domain", "bench.localhost", "--authtoken", AUTHTOKEN, ...extraArgs];
  /** @type {Map<string, string>} each worker's own admin address, from its "worker ready" line (before "edge ready") */
  const workerAdmins = new Map();
  const { proc, info } = await startProcess({
    name: "onramp-edge",
    command: cpus ? "taskset" : process.execPath,
    env,
    args: cpus ? ["-c", cpus, process.execPath, ...args] : args,
    readyOn: "stderr",
    ready: (line) => {
      if (line.includes('"worker ready"')) {
        const { edge, admin } = JSON.parse(line);
        workerAdmins.set(edge, admin);
      }
      if (!line.includes('"edge ready"')) return undefined;
      const { edge, http, agent, admin, workers: list } = JSON.parse(line);
      /** @type {{ edge: string, agent: string, admin?: string }[]} */
      const workers = list ?? [{ edge, agent }];
      // Each worker's own admin address is in the list; a worker's own "worker ready" line may come
      // after the primary's "edge ready" (their logs are written by different processes).
      return { http, agent, admin, workers: workers.map((w) => ({ ...w, admin: w.admin ?? workerAdmins.get(w.edge) ?? admin })) };
    },
    // Workers start one after the other; on a busy machine a second one can take several seconds.
    timeoutMs: 15_000 + 5_000 * (workers - 1),
  });
  return { proc, ...info };
}

/** How `startOnramp` fails when the agent's session is missing at some edge worker. */
export const NOT_BOUND_AT_EVERY_WORKER = "the agent bound at every edge worker";

/**
 * Resolves true once every worker's own admin API lists a local member (a session of its own) for
 * the bench host; otherwise rejects saying what the first worker without one lists.
 * @param {EdgeWorker[]} workers
 */
async function boundAtEvery(workers) {
  for (const w of workers) {
    const { status, body } = await httpGet(`http://${w.admin}/api/endpoints`);
    if (status !== 200) throw new Error(`worker ${w.edge}: GET /api/endpoints ${status}`);
    /** @type {{ url: string, members: { edge: string, local: boolean }[] }[]} */
    const endpoints = JSON.parse(body).endpoints;
    const members = endpoints.find((e) => new URL(e.url).hostname === ONRAMP_HOST)?.members ?? [];
    if (!members.some((m) => m.local && m.edge === w.edge)) {
      throw new Error(`worker ${w.edge} lists ${JSON.stringify(members.map((m) => ({ edge: m.edge, local: m.local })))}`);
    }
  }
  return true;
}

/**
 * @param {string} target host:port
 * @param {number} rttMs round trip to add (half each way)
 * @param {number} [listenPort]
 */
async function startDelayProxy(target, rttMs, listenPort = 0) {
  const { proc, info } = await startProcess({
    name: "delay-proxy",
    command: process.execPath,
    args: [join(LIB, "delay-proxy.mjs"), "--target", target, "--delay-ms", String(rttMs / 2), "--listen-port", String(listenPort)],
    readyOn: "stdout",
    ready: (line) => /^delay-proxy listening (\S+)$/.exec(line)?.[1],
  });
  return Object.assign(proc, { address: /** @type {string} */ (info) });
}

/** @param {string} base @param {string} [host] */
async function hello(base, host) {
  const { status } = await httpGet(`${base}/hello`, { host });
  // 401 is the endpoint online behind a policy that wants a token; 404/502/503 mean not yet.
  return status === 200 || status === 401;
}
