// Edge memory per idle session: a fresh edge, its RSS before and after one process opens N idle
// agent sessions (each with a data connection and one bound endpoint), divided by N.
import { AGENT_LIB, AUTHTOKEN, startEdge } from "./targets.mjs";
import { httpGet } from "./http-get.mjs";
import { sleep, startProcess } from "./processes.mjs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const HOLDER = join(dirname(fileURLToPath(import.meta.url)), "session-holder.mjs");
/** 3 s: lets the edge finish the handshake work and the allocator return what it freed. */
const SETTLE_MS = 3_000;

/**
 * @param {{ upstream: string, sessions: number, log: (msg: string) => void }} opts
 */
export async function measureEdgeMemory({ upstream, sessions, log }) {
  const edge = await startEdge();
  /** @type {import("./processes.mjs").Proc | undefined} */
  let holder;
  try {
    await sleep(SETTLE_MS);
    const before = edge.proc.rssBytes();
    const metricsBefore = await residentFromMetrics(edge.admin);
    const started = performance.now();
    holder = (
      await startProcess({
        name: "session-holder",
        command: process.execPath,
        args: [HOLDER, "--agent-lib", AGENT_LIB, "--edge", edge.agent, "--authtoken", AUTHTOKEN, "--upstream", upstream,
          "--sessions", String(sessions)],
        readyOn: "stdout",
        ready: (line) => line.startsWith("held "),
        timeoutMs: 30_000 + sessions * 100,
      })
    ).proc;
    const connectS = (performance.now() - started) / 1000;
    log(`edge memory: ${sessions} sessions up in ${connectS.toFixed(1)} s`);
    await sleep(SETTLE_MS);
    const after = edge.proc.rssBytes();
    const metricsAfter = await residentFromMetrics(edge.admin);
    const bound = await countEndpoints(edge.admin);
    const online = await sessionsOnline(edge.admin);
    return {
      sessions,
      endpointsBound: bound,
      sessionsOnline: online,
      rssBeforeBytes: before,
      rssAfterBytes: after,
      perSessionBytes: Math.round((after - before) / sessions),
      metricsRssBeforeBytes: metricsBefore,
      metricsRssAfterBytes: metricsAfter,
      connectSeconds: Math.round(connectS * 10) / 10,
    };
  } finally {
    await holder?.stop();
    await edge.proc.stop();
  }
}

/** @param {string} admin host:port @returns {Promise<number | null>} */
async function residentFromMetrics(admin) {
  try {
    const { body } = await httpGet(`http://${admin}/metrics`);
    const m = /^process_resident_memory_bytes\s+([\d.e+]+)$/m.exec(body);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** @param {string} admin host:port @returns {Promise<number | null>} */
async function countEndpoints(admin) {
  try {
    const { status, body } = await httpGet(`http://${admin}/api/endpoints`);
    if (status !== 200) return null;
    const parsed = JSON.parse(body);
    const list = Array.isArray(parsed) ? parsed : (parsed.endpoints ?? parsed.items ?? []);
    return Array.isArray(list) ? list.length : null;
  } catch {
    return null;
  }
}

/** @param {string} admin host:port @returns {Promise<number | null>} */
async function sessionsOnline(admin) {
  try {
    const { body } = await httpGet(`http://${admin}/healthz`);
    const sessions = JSON.parse(body).sessions;
    return typeof sessions === "number" ? sessions : null;
  } catch {
    return null;
  }
}
