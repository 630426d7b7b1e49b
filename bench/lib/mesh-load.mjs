// Light paced load for the mesh measurements: requests go out on a fixed schedule (round robin
// over the targets) whatever the answers do, and every answer is recorded with its time. Meant for
// 100–300 req/s, far below what the edges can serve; the closed-loop maximum is wrk's job.
import { Agent, request } from "node:http";

/**
 * @typedef {{ http: string, host: string, path?: string }} PacedTarget edge host:port, Host header
 * @typedef {{ target: number, sentAt: number, doneAt: number, status: number, code?: string, error?: string }} PacedResult
 * times are performance.now(); `code` is the Onramp-Error-Code header; status 0 with `error` when no answer came
 */

/**
 * Sends `count` requests (or until `stop.stopped`), one every 1000/`ratePerS` ms, request i to
 * target i mod n, and resolves once every answer is in.
 * @param {{ targets: PacedTarget[], ratePerS: number, count?: number, stop?: { stopped: boolean }, timeoutMs?: number }} o
 * @returns {Promise<PacedResult[]>}
 */
export async function pacedLoad({ targets, ratePerS, count = Infinity, stop, timeoutMs = 5_000 }) {
  const agents = targets.map(() => new Agent({ keepAlive: true, maxSockets: 64 }));
  const interval = 1000 / ratePerS;
  /** @type {Promise<PacedResult>[]} */
  const pending = [];
  const start = performance.now();
  let sent = 0;
  try {
    while (sent < count && !stop?.stopped) {
      // Catch up on every request that came due while the timer was late: the rate holds.
      while (sent < count && start + sent * interval <= performance.now()) {
        const i = sent++ % targets.length;
        pending.push(send(targets[i], i, agents[i], timeoutMs));
      }
      const wait = start + sent * interval - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    }
    return await Promise.all(pending);
  } finally {
    for (const agent of agents) agent.destroy();
  }
}

/**
 * @param {PacedTarget} t @param {number} index @param {Agent} agent @param {number} timeoutMs
 * @returns {Promise<PacedResult>}
 */
function send(t, index, agent, timeoutMs) {
  const sentAt = performance.now();
  return new Promise((resolve) => {
    const done = (/** @type {number} */ status, /** @type {string | undefined} */ error, /** @type {unknown} */ code = undefined) =>
      resolve({ target: index, sentAt, doneAt: performance.now(), status, ...(error ? { error } : {}), ...(code ? { code: String(code) } : {}) });
    const req = request(`http://${t.http}${t.path ?? "/hello"}`, { agent, headers: { host: t.host }, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on("end", () => done(res.statusCode ?? 0, undefined, res.headers["onramp-error-code"]));
      res.on("error", (e) => done(0, e.message));
    });
    req.on("timeout", () => req.destroy(new Error(`no answer in ${timeoutMs} ms`)));
    req.on("error", (e) => done(0, e.message));
    req.end();
  });
}

/**
 * Counts by status, the failures (not 2xx), and the longest time between two successive 2xx
 * answers (by arrival) — how long the service looked down to a client polling it. With `zeroAt`
 * (an event such as a kill), when the first failures were sent and answered relative to it.
 * @param {PacedResult[]} results @param {number} [zeroAt]
 */
export function summarizePaced(results, zeroAt) {
  /** @type {Record<string, number>} */
  const statuses = {};
  for (const r of results) {
    const key = r.error ? "no answer" : r.code ? `${r.status} ${r.code}` : String(r.status);
    statuses[key] = (statuses[key] ?? 0) + 1;
  }
  const ok = results.filter((r) => r.status >= 200 && r.status < 300).map((r) => r.doneAt).sort((a, b) => a - b);
  let longestGapMs = 0;
  for (let i = 1; i < ok.length; i++) longestGapMs = Math.max(longestGapMs, ok[i] - ok[i - 1]);
  const failed = results.filter((r) => !(r.status >= 200 && r.status < 300));
  return {
    sent: results.length,
    ok: ok.length,
    failed: failed.length,
    statuses,
    longestGapMs: round(longestGapMs),
    firstErrors: [...new Set(failed.map((r) => r.error ?? `status ${r.status}${r.code ? ` ${r.code}` : ""}`))].slice(0, 3),
    ...(zeroAt === undefined ? {} : { failures: failed.slice(0, 10).map((r) => ({ sentMs: round(r.sentAt - zeroAt), answeredMs: round(r.doneAt - zeroAt) })) }),
  };
}

/**
 * p50/p99 (nearest rank) of a list of milliseconds, plus min and max.
 * @param {number[]} xs
 */
export function percentiles(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const at = (/** @type {number} */ p) => round(s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]);
  return s.length ? { n: s.length, p50Ms: at(50), p99Ms: at(99), minMs: round(s[0]), maxMs: round(s[s.length - 1]) } : { n: 0 };
}

/** @param {number} ms */
export function round(ms) {
  return Math.round(ms * 10) / 10;
}
