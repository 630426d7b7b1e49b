// One small GET, for readiness probes and admin endpoints.
import { request } from "node:http";
import { createServer } from "node:net";

/**
 * @param {string} url
 * @param {{ host?: string, timeoutMs?: number }} [opts]
 * @returns {Promise<{ status: number, body: string }>}
 */
export function httpGet(url, { host, timeoutMs = 2_000 } = {}) {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: host ? { host } : {}, agent: false, timeout: timeoutMs }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (s) => (body += s));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${url}: no answer in ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end();
  });
}

/**
 * A loopback port that was free a moment ago, for programs that cannot listen on port 0 and
 * report the port (nginx). The window between close and their bind is microseconds.
 * @returns {Promise<number>}
 */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      const port = typeof address === "object" && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}
