// Large-body throughput: one 100 MB download (GET /bytes/<n>) and one 100 MB upload (POST /sink)
// on a fresh connection, timed from the request to the last byte (download) or to the upstream's
// reply with its byte count (upload). MB = 10^6 bytes.
import { request } from "node:http";

/** 64 KiB writes, the size Node's own streams use. */
const CHUNK = Buffer.alloc(64 * 1024, 0x62);

/**
 * @typedef {object} TransferResult
 * @property {number} mbPerS
 * @property {number} bytes bytes moved before the end (or the time limit)
 * @property {number} seconds
 * @property {boolean} complete false if the time limit cut the transfer short (mbPerS is then the rate so far)
 * @property {string} [error]
 */

/**
 * @param {{ base: string, host?: string, bytes: number, limitS: number }} opts
 * @returns {Promise<TransferResult>}
 */
export function download({ base, host, bytes, limitS }) {
  return new Promise((resolve) => {
    const started = performance.now();
    let received = 0;
    const done = (/** @type {boolean} */ complete, /** @type {string | undefined} */ error) => {
      clearTimeout(timer);
      req.destroy();
      resolve(result(received, started, complete && received === bytes, error));
    };
    const req = request(`${base}/bytes/${bytes}`, { headers: host ? { host } : {}, agent: false }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        done(false, `status ${res.statusCode}`);
        return;
      }
      res.on("data", (chunk) => (received += chunk.length));
      res.on("end", () => done(true, received === bytes ? undefined : `got ${received} of ${bytes} bytes`));
      res.on("error", (e) => done(false, e.message));
    });
    const timer = setTimeout(() => done(false, `time limit ${limitS} s`), limitS * 1000);
    req.on("error", (e) => done(false, e.message));
    req.end();
  });
}

/**
 * @param {{ base: string, host?: string, bytes: number, limitS: number }} opts
 * @returns {Promise<TransferResult>}
 */
export function upload({ base, host, bytes, limitS }) {
  return new Promise((resolve) => {
    const started = performance.now();
    let written = 0;
    let settled = false;
    const done = (/** @type {boolean} */ complete, /** @type {string | undefined} */ error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(result(written, started, complete, error));
    };
    const req = request(
      `${base}/sink`,
      {
        method: "POST",
        headers: { ...(host ? { host } : {}), "content-type": "application/octet-stream", "content-length": bytes },
        agent: false,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (s) => (body += s));
        res.on("end", () => {
          const counted = Number(body.trim());
          if (res.statusCode !== 200) done(false, `status ${res.statusCode}: ${body.slice(0, 200)}`);
          else if (counted !== bytes) done(false, `upstream counted ${body.trim()} of ${bytes} bytes`);
          else done(true, undefined);
        });
      },
    );
    const timer = setTimeout(() => done(false, `time limit ${limitS} s`), limitS * 1000);
    req.on("error", (e) => done(false, e.message));
    const pump = () => {
      while (written < bytes && !settled) {
        const n = Math.min(CHUNK.length, bytes - written);
        written += n;
        if (!req.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) {
          req.once("drain", pump);
          return;
        }
      }
      if (!settled) req.end();
    };
    pump();
  });
}

/**
 * @param {number} moved @param {number} started @param {boolean} complete @param {string | undefined} error
 * @returns {TransferResult}
 */
function result(moved, started, complete, error) {
  const seconds = (performance.now() - started) / 1000;
  return {
    mbPerS: Math.round((moved / 1e6 / seconds) * 10) / 10,
    bytes: moved,
    seconds: Math.round(seconds * 1000) / 1000,
    complete,
    ...(error ? { error } : {}),
  };
}
