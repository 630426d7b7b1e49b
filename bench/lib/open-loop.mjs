#!/usr/bin/env node
// Open-loop (fixed-rate) load: requests are scheduled at `rate` per second whatever the target
// does, and latency counts from the moment a request was due, so a stalled target is charged for
// the requests that queued behind the stall (no coordinated omission, as in wrk2, which Debian
// does not ship).
//
// Method: every 1 ms tick, the requests that became due since the last tick are handed to idle
// keep-alive connections (HTTP/1.1, one request in flight per connection); with none idle they
// wait in a FIFO backlog. A request's latency runs from the tick that found it due (the earliest
// the generator could send it) to the last byte of its response. The first `warmup` seconds are
// not recorded. `achievedRate` counts the answers that arrived between the warm-up and the end of
// the load, so a target that falls behind shows a rate below the target rate. Written on raw sockets with a minimal response parser because Node's http client
// costs more CPU per request than the proxies being measured.
//
//   node open-loop.mjs --url http://127.0.0.1:8080/hello [--host app.example] --rate 5000 \
//     --duration 10 [--warmup 1] [--connections 50]
// Prints one JSON line on stdout.
import { connect } from "node:net";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    url: { type: "string" },
    host: { type: "string" },
    rate: { type: "string" },
    duration: { type: "string", default: "10" },
    warmup: { type: "string", default: "1" },
    connections: { type: "string", default: "50" },
  },
});
const url = new URL(values.url ?? fail("--url is required"));
const rate = Number(values.rate);
const durationMs = Number(values.duration) * 1000;
const warmupMs = Number(values.warmup) * 1000;
const connections = Number(values.connections);
if (!(rate > 0) || !(durationMs > 0) || !(connections > 0)) fail("--rate, --duration and --connections must be positive");

/** 5 s: a request still unanswered this long after the run ends is reported as unanswered. */
const DRAIN_MS = 5_000;
const request = Buffer.from(`GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${values.host ?? url.host}\r\n\r\n`, "latin1");
const latencies = new Float64Array(Math.ceil((rate * (durationMs + 1000)) / 1000) + 1024);
let recorded = 0;
let completed = 0;
let errors = 0;
let non2xx = 0;
let sent = 0;
/** Answers that arrived after the warm-up and before the load stopped: a target falling behind answers fewer than the rate. */
let answeredInWindow = 0;
let loadRunning = true;
/** @type {number[]} due times of requests waiting for a connection */
const backlog = [];
/** @type {Conn[]} */
const idle = [];

class Conn {
  constructor() {
    this.socket = connect({ host: url.hostname, port: Number(url.port) || 80 });
    this.socket.setNoDelay(true);
    /** @type {Buffer} */
    this.buffer = Buffer.alloc(0);
    this.due = -1;
    this.ready = new Promise((resolve, reject) => {
      this.socket.once("connect", resolve);
      this.socket.once("error", reject);
    });
    this.socket.on("data", (chunk) => this.onData(chunk));
    this.socket.on("error", () => {});
    this.socket.on("close", () => {
      if (this.due >= 0) errors++;
      this.due = -1;
      this.dead = true;
    });
  }

  /** @param {number} due */
  send(due) {
    this.due = due;
    sent++;
    this.socket.write(request);
  }

  /** @param {Buffer} chunk */
  onData(chunk) {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const parsed = parseResponse(this.buffer);
    if (!parsed) return;
    this.buffer = this.buffer.subarray(parsed.length);
    const now = performance.now();
    if (this.due >= startedAt + warmupMs) latencies[recorded++] = now - this.due;
    if (loadRunning && now >= startedAt + warmupMs) answeredInWindow++;
    if (parsed.status < 200 || parsed.status >= 400) non2xx++;
    completed++;
    this.due = -1;
    const next = backlog.shift();
    if (next !== undefined) this.send(next);
    else idle.push(this);
  }
}

/**
 * Finds one complete response at the start of `buf` (Content-Length or chunked body).
 * @param {Buffer} buf
 * @returns {{ status: number, length: number } | undefined}
 */
function parseResponse(buf) {
  const headEnd = buf.indexOf("\r\n\r\n");
  if (headEnd < 0) return undefined;
  const head = buf.toString("latin1", 0, headEnd);
  const status = Number(head.slice(9, 12));
  const cl = /\r\ncontent-length:\s*(\d+)/i.exec(head);
  if (cl) {
    const length = headEnd + 4 + Number(cl[1]);
    return buf.length >= length ? { status, length } : undefined;
  }
  if (/\r\ntransfer-encoding:\s*chunked/i.test(head)) {
    let at = headEnd + 4;
    for (;;) {
      const lineEnd = buf.indexOf("\r\n", at);
      if (lineEnd < 0) return undefined;
      const size = parseInt(buf.toString("latin1", at, lineEnd), 16);
      if (size === 0) {
        const end = buf.indexOf("\r\n\r\n", lineEnd);
        return end >= 0 ? { status, length: end + 4 } : undefined;
      }
      at = lineEnd + 2 + size + 2;
      if (at > buf.length) return undefined;
    }
  }
  return { status, length: headEnd + 4 };
}

const conns = Array.from({ length: connections }, () => new Conn());
await Promise.all(conns.map((c) => c.ready));
idle.push(...conns);

const startedAt = performance.now();
let scheduled = 0;
await new Promise((resolve) => {
  const tick = () => {
    const now = performance.now();
    const elapsed = Math.min(now - startedAt, durationMs);
    const due = Math.floor((elapsed * rate) / 1000);
    for (; scheduled < due; scheduled++) {
      let conn = idle.pop();
      while (conn?.dead) conn = idle.pop();
      if (conn) conn.send(now);
      else backlog.push(now);
    }
    if (elapsed >= durationMs) resolve(undefined);
    else setTimeout(tick, 1);
  };
  tick();
});
const loadEndedAt = performance.now();
loadRunning = false;
const drainUntil = loadEndedAt + DRAIN_MS;
while (completed + errors < scheduled && performance.now() < drainUntil) {
  await new Promise((resolve) => setTimeout(resolve, 5));
}
const unanswered = scheduled - completed - errors;
for (const c of conns) c.socket.destroy();

const sample = latencies.subarray(0, recorded).sort();
const at = (/** @type {number} */ q) => (recorded ? round(sample[Math.min(recorded - 1, Math.floor(q * recorded))]) : null);
const measuredS = (durationMs - warmupMs) / 1000;
let total = 0;
for (let i = 0; i < recorded; i++) total += sample[i];
process.stdout.write(
  `${JSON.stringify({
    targetRate: rate,
    achievedRate: round(answeredInWindow / measuredS),
    scheduled,
    sent,
    completed,
    errors,
    unanswered,
    non2xx,
    meanMs: recorded ? round(total / recorded) : null,
    p50Ms: at(0.5),
    p90Ms: at(0.9),
    p99Ms: at(0.99),
    p999Ms: at(0.999),
    maxMs: recorded ? round(sample[recorded - 1]) : null,
  })}\n`,
);
process.exit(0);

/** @param {number} n */
function round(n) {
  return Math.round(n * 1000) / 1000;
}

/** @param {string} message @returns {never} */
function fail(message) {
  process.stderr.write(`open-loop: ${message}\n`);
  process.exit(2);
}
