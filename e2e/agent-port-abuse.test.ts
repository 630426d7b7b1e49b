import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAgent, startEdge, type EdgeProcess } from "./harness/cluster.js";
import { send } from "./harness/http-client.js";
import { stopAll, type RunningProcess } from "./harness/processes.js";
import { startUpstream, type Upstream } from "./harness/upstream.js";
import { within } from "./harness/within.js";

/**
 * The finding behind these tests: after the data magic, an edge answered 1 MiB PINGs before the
 * connection was authenticated, and queued every pong for a client that never read; RSS went
 * from 85 MB to 2.2 GB in 10 s and never came back. Now nothing is answered before the hello,
 * and a frame header announcing more than a hello may carry closes the connection at once.
 */
const MB = 1024 * 1024;
/** Enough to grow an unprotected edge well past the budget (one pong queued per ping). */
const FLOOD_BYTES = 300 * MB;
const RSS_BUDGET = 100 * MB;
const CLUSTER_SECRET = "e2e-abuse-cluster-secret";

const DATA_MAGIC = Buffer.from("ONRAMPD1", "latin1");
const RELAY_MAGIC = Buffer.from("ONRAMPR1", "latin1");

let upstream: Upstream;
/** An edge alone: relay connections are refused outright. */
let plain: EdgeProcess;
/** An edge with a cluster secret: relay connections wait for a hello. */
let meshed: EdgeProcess;

beforeAll(async () => {
  upstream = await startUpstream();
  [plain, meshed] = await Promise.all([startEdge([], "edge-plain"), startEdge(["--cluster-secret", CLUSTER_SECRET], "edge-meshed")]);
});

afterAll(async () => {
  await stopAll();
  await upstream.close();
});

/** A PING frame with a 1 MiB payload, as the wire carries it: u32 length | u8 type (7) | u8 flags | u32 stream | payload. */
function bigPing(): Buffer {
  const frame = Buffer.alloc(10 + MB, 0x61);
  frame.writeUInt32BE(MB, 0);
  frame[4] = 7;
  frame[5] = 0;
  frame.writeUInt32BE(0, 6);
  return frame;
}

interface FloodResult {
  /** Bytes of pings that went out before the edge closed the connection. */
  sent: number;
  /** Bytes the edge sent back (pongs, or anything else). */
  received: number;
  /** Peak growth of the edge's RSS while the flood ran. */
  rssGrowth: number;
}

/**
 * Opens a connection to the agent port, sends `magic`, then 1 MiB PINGs as fast as the edge takes
 * them without ever reading, until the edge closes the connection. Rejects if the edge has not
 * closed it 10 s after `FLOOD_BYTES` went out.
 */
async function flood(edge: EdgeProcess, magic: Buffer): Promise<FloodResult> {
  const colon = edge.agent.lastIndexOf(":");
  const socket = connect({ host: edge.agent.slice(0, colon), port: Number(edge.agent.slice(colon + 1)) });
  // Never read: whatever the edge answers stays queued on its side.
  socket.pause();
  socket.on("error", () => undefined);
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  await within(5_000, "the agent port to accept", new Promise<void>((resolve) => socket.once("connect", resolve)));
  const peak = peakRss(edge.proc);
  try {
    const ping = bigPing();
    let sent = 0;
    socket.write(magic);
    while (sent < FLOOD_BYTES && !socket.destroyed) {
      sent += ping.length;
      if (!socket.write(ping)) await Promise.race([waitForDrain(socket), closed]);
    }
    await within(10_000, "the edge to close the flooding connection", closed);
    return { sent, received: socket.bytesRead, rssGrowth: peak.stop() };
  } finally {
    peak.stop();
    socket.destroy();
  }
}

function waitForDrain(socket: Socket): Promise<void> {
  return new Promise((resolve) => socket.once("drain", resolve));
}

/** Samples a process's RSS every 20 ms until `stop()`, which returns the peak growth. */
function peakRss(proc: RunningProcess): { stop(): number } {
  const base = proc.rssBytes();
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, proc.rssBytes())), 20);
  return {
    stop: () => {
      clearInterval(timer);
      peak = Math.max(peak, proc.rssBytes());
      return peak - base;
    },
  };
}

/** An agent connects to `edge` and serves a request through it. */
async function servesAnAgent(edge: EdgeProcess, name: string): Promise<void> {
  const agent = await startAgent(edge, upstream.target, ["--url", `http://${name}.e2e.localhost`], `agent-${name}`);
  const reply = await send({ base: edge.httpUrl, host: agent.host, path: "/hello" });
  expect(reply.status).toBe(200);
  expect(reply.body).toBe("hello from upstream\n");
  await agent.proc.stop();
}

describe("the agent port before authentication", () => {
  it("closes a data connection that pings before its hello, answers nothing and stays within its memory", async () => {
    const result = await flood(plain, DATA_MAGIC);
    console.log(`data magic: ${(result.sent / MB).toFixed(0)} MB sent, edge RSS +${(result.rssGrowth / MB).toFixed(1)} MB`);
    expect(result.received).toBe(0);
    expect(result.sent).toBeLessThan(FLOOD_BYTES);
    expect(result.rssGrowth).toBeLessThan(RSS_BUDGET);
    await plain.proc.waitForLine("stderr", (line) => line.includes("data connection closed before its hello") && line.includes("limit"));
    await servesAnAgent(plain, "after-data-flood");
  });

  it("closes a relay connection at once on an edge outside a mesh", async () => {
    const result = await flood(plain, RELAY_MAGIC);
    expect(result.received).toBe(0);
    expect(result.sent).toBeLessThan(FLOOD_BYTES);
    expect(result.rssGrowth).toBeLessThan(RSS_BUDGET);
    await servesAnAgent(plain, "after-relay-flood");
  });

  it("closes a relay connection that pings before its hello on an edge with a cluster secret", async () => {
    const result = await flood(meshed, RELAY_MAGIC);
    console.log(`relay magic: ${(result.sent / MB).toFixed(0)} MB sent, edge RSS +${(result.rssGrowth / MB).toFixed(1)} MB`);
    expect(result.received).toBe(0);
    expect(result.sent).toBeLessThan(FLOOD_BYTES);
    expect(result.rssGrowth).toBeLessThan(RSS_BUDGET);
    await meshed.proc.waitForLine("stderr", (line) => line.includes("relay connection closed before its hello") && line.includes("limit"));
    await servesAnAgent(meshed, "meshed");
  });
});
