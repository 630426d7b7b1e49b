import { request as httpRequest } from "node:http";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAgent, startEdge, type AgentProcess, type EdgeProcess } from "./harness/cluster.js";
import { stopAll, type RunningProcess } from "./harness/processes.js";
import { startUpstream, type Upstream } from "./harness/upstream.js";

const MB = 1024 * 1024;
const SIZE = 100 * MB;
/** The bound: edge and agent grow well under 100 MB while 100 MB streams through. */
const RSS_BUDGET = 100 * MB;

let upstream: Upstream;
let edge: EdgeProcess;
let agent: AgentProcess;

beforeAll(async () => {
  upstream = await startUpstream();
  edge = await startEdge();
  agent = await startAgent(edge, upstream.target, ["--url", "http://big.e2e.localhost"]);
});

afterAll(async () => {
  await stopAll();
  await upstream.close();
});

/** Samples the peak RSS growth of processes while `work` runs. */
async function peakGrowth(procs: RunningProcess[], work: () => Promise<void>): Promise<number[]> {
  const base = procs.map((p) => p.rssBytes());
  const peak = [...base];
  const timer = setInterval(() => procs.forEach((p, i) => (peak[i] = Math.max(peak[i]!, p.rssBytes()))), 20);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return peak.map((p, i) => p - base[i]!);
}

describe("100 MB bodies stream through with bounded memory", () => {
  it("downloads 100 MB", async () => {
    let received = 0;
    const url = new URL(edge.httpUrl);
    const growth = await peakGrowth([edge.proc, agent.proc], () =>
      new Promise<void>((resolve, reject) => {
        const req = httpRequest({ hostname: url.hostname, port: url.port, path: `/bytes/${SIZE}`, headers: { host: agent.host } }, (res) => {
          expect(res.headers["content-length"]).toBe(String(SIZE));
          res.on("data", (c: Buffer) => (received += c.length));
          res.on("end", resolve);
          res.on("error", reject);
        });
        req.on("error", reject);
        req.end();
      }),
    );
    expect(received).toBe(SIZE);
    console.log(`download: edge RSS +${(growth[0]! / MB).toFixed(1)} MB, agent RSS +${(growth[1]! / MB).toFixed(1)} MB`);
    expect(growth[0]).toBeLessThan(RSS_BUDGET);
    expect(growth[1]).toBeLessThan(RSS_BUDGET);
  });

  it("uploads 100 MB", async () => {
    let reply = "";
    const url = new URL(edge.httpUrl);
    const growth = await peakGrowth([edge.proc, agent.proc], () =>
      new Promise<void>((resolve, reject) => {
        const req = httpRequest(
          { hostname: url.hostname, port: url.port, path: "/sink", method: "POST", headers: { host: agent.host, "content-length": SIZE } },
          (res) => {
            res.on("data", (c: Buffer) => (reply += c));
            res.on("end", resolve);
          },
        );
        req.on("error", reject);
        const chunk = Buffer.alloc(64 * 1024, 0x62);
        Readable.from((function* () {
          for (let sent = 0; sent < SIZE; sent += chunk.length) yield chunk;
        })()).pipe(req);
      }),
    );
    expect(JSON.parse(reply)).toEqual({ received: SIZE });
    console.log(`upload: edge RSS +${(growth[0]! / MB).toFixed(1)} MB, agent RSS +${(growth[1]! / MB).toFixed(1)} MB`);
    expect(growth[0]).toBeLessThan(RSS_BUDGET);
    expect(growth[1]).toBeLessThan(RSS_BUDGET);
  });
});
