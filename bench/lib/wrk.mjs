// Closed-loop load with wrk (Debian's wrk 4): a fixed number of connections, each sending its next
// request as soon as the previous answer arrives. Measures the most a target can serve.
import { runToCompletion } from "./processes.mjs";

/**
 * @typedef {object} WrkResult
 * @property {number} rps requests per second
 * @property {number} p50Ms
 * @property {number} p90Ms
 * @property {number} p99Ms
 * @property {number} requests completed requests
 * @property {number} non2xx responses that were not 2xx/3xx
 * @property {number} socketErrors connect + read + write + timeout errors
 */

/**
 * @param {object} opts
 * @param {string} opts.url
 * @param {string} [opts.host] Host header (tunnels route on it)
 * @param {number} opts.connections
 * @param {number} opts.threads
 * @param {number} opts.durationS
 * @param {Record<string, string>} [opts.headers] more request headers
 * @param {string} [opts.cpus] run wrk under `taskset -c cpus` (default: any CPU)
 * @returns {Promise<WrkResult>}
 */
export async function runWrk({ url, host, connections, threads, durationS, headers = {}, cpus }) {
  const args = ["-t", String(threads), "-c", String(connections), "-d", `${durationS}s`, "--latency", "--timeout", "5s"];
  if (host) args.push("-H", `Host: ${host}`);
  for (const [name, value] of Object.entries(headers)) args.push("-H", `${name}: ${value}`);
  args.push(url);
  const [command, argv] = cpus ? ["taskset", ["-c", cpus, "wrk", ...args]] : ["wrk", args];
  const { code, stdout, stderr } = await runToCompletion("wrk", command, argv, { timeoutMs: (durationS + 15) * 1000 });
  if (code !== 0) throw new Error(`wrk exited with ${code}: ${stderr || stdout}`);
  return parseWrk(stdout);
}

/**
 * Parses wrk's text report.
 * @param {string} text
 * @returns {WrkResult}
 */
export function parseWrk(text) {
  const number = (/** @type {RegExp} */ re, fallback = NaN) => {
    const m = re.exec(text);
    return m ? Number(m[1]) : fallback;
  };
  const percentile = (/** @type {string} */ p) => {
    const m = new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, "m").exec(text);
    return m ? toMs(Number(m[1]), m[2]) : NaN;
  };
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(text);
  const result = {
    rps: number(/^Requests\/sec:\s+([\d.]+)/m),
    p50Ms: percentile("50"),
    p90Ms: percentile("90"),
    p99Ms: percentile("99"),
    requests: number(/^\s+(\d+) requests in/m),
    non2xx: number(/Non-2xx or 3xx responses: (\d+)/, 0),
    socketErrors: socket ? socket.slice(1).reduce((sum, n) => sum + Number(n), 0) : 0,
  };
  if (!Number.isFinite(result.rps) || !Number.isFinite(result.p99Ms)) {
    throw new Error(`cannot parse wrk output:\n${text}`);
  }
  return result;
}

/** @param {number} value @param {string} unit */
function toMs(value, unit) {
  switch (unit) {
    case "us":
      return value / 1000;
    case "ms":
      return value;
    case "s":
      return value * 1000;
    default:
      return value * 60_000;
  }
}
