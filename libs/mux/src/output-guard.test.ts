import { createServer, connect, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { encodeFrame, FrameType } from "./frame.js";
import { MuxConnection } from "./mux-connection.js";
import { resolveMuxOptions, type MuxOptions } from "./options.js";

const servers: Server[] = [];
const sockets: Socket[] = [];
const conns: MuxConnection[] = [];

afterEach(() => {
  for (const c of conns.splice(0)) c.destroy(undefined);
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) s.close();
  vi.useRealTimers();
});

const KiB = 1024;
/** One ping frame, as a flood sends it: each one makes the connection queue a pong. */
const PING = encodeFrame(FrameType.Ping, 0, 0, Buffer.alloc(8));
/** 64 KiB of pings in one buffer. */
const PINGS = Buffer.concat(Array.from({ length: Math.floor((64 * KiB) / PING.length) }, () => PING));

/**
 * A connection (no handshake: as after authentication) and a raw peer that never reads from it.
 * `peak()` is the most bytes the connection ever had queued on its socket, sampled after every write.
 */
async function unreadConnection(options: MuxOptions) {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const accepted = new Promise<Socket>((resolve) => server.once("connection", resolve));
  const peer = connect((server.address() as { port: number }).port, "127.0.0.1");
  sockets.push(peer);
  peer.pause();
  peer.on("error", () => undefined);
  await new Promise<void>((resolve) => peer.once("connect", resolve));
  const socket = await accepted;
  let peak = 0;
  const write = socket.write.bind(socket) as (chunk: Buffer) => boolean;
  socket.write = ((chunk: Buffer) => {
    const result = write(chunk);
    peak = Math.max(peak, socket.writableLength);
    return result;
  }) as typeof socket.write;
  const connection = new MuxConnection(socket, true, {}, { pingIntervalMs: 20, idlePingIntervalMs: 20, idleTimeoutMs: 60_000, ...options });
  conns.push(connection);
  const error = new Promise<Error | undefined>((resolve) => (connection.events.onClose = resolve));
  return { connection, socket, peer, error, peak: () => peak };
}

/** Writes pings to the connection, with backpressure, until `stop()` holds or the connection closes. */
async function floodPings(peer: Socket, stop: () => boolean): Promise<void> {
  const closed = new Promise<void>((resolve) => peer.once("close", () => resolve()));
  while (!stop() && !peer.destroyed) {
    if (!peer.write(PINGS)) await Promise.race([new Promise((resolve) => peer.once("drain", resolve)), closed]);
  }
}

describe("a connection whose peer does not read", () => {
  it("is cut off at maxOutputBytes, however fast the peer provokes pongs", async () => {
    const maxOutputBytes = 256 * KiB;
    const { peer, error, peak } = await unreadConnection({ maxQueuedBytes: 16 * KiB, outputStallBytes: 128 * KiB, outputStallTimeoutMs: 60_000, maxOutputBytes });
    let closed = false;
    void error.then(() => (closed = true));
    await floodPings(peer, () => closed);
    expect((await error)?.message).toMatch(/^the peer is not reading: \d+ KiB queued for it, over the 256 KiB limit$/);
    // The cap, plus the one pong that crossed it.
    expect(peak()).toBeLessThanOrEqual(maxOutputBytes + PING.length);
  });

  it("is cut off once more than outputStallBytes stayed queued for outputStallTimeoutMs", async () => {
    const { socket, peer, error, peak } = await unreadConnection({ maxQueuedBytes: 16 * KiB, outputStallBytes: 128 * KiB, outputStallTimeoutMs: 200, maxOutputBytes: 64 * 1024 * KiB });
    // Just past the stall limit, then quiet: only the time spent above it can close the connection.
    await floodPings(peer, () => socket.writableLength > 128 * KiB);
    expect((await error)?.message).toBe("the peer is not reading: over 128 KiB queued for it for 200 ms");
    expect(peak()).toBeLessThan(64 * 1024 * KiB);
  });

  it("is not cut off for DATA waiting on a full socket: DATA stops at maxQueuedBytes", async () => {
    const maxQueuedBytes = 16 * KiB;
    // The least it may be: what DATA alone can queue, maxQueuedBytes plus the chunk that crossed it.
    const outputStallBytes = maxQueuedBytes + 64 * KiB + 10;
    const outputStallTimeoutMs = 100;
    // The connection's clock (its tick timer and performance.now()) is driven by the test; sockets
    // and setImmediate, which flushes its writes, stay real.
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval", "performance"] });
    const { connection, socket } = await unreadConnection({
      // More than the kernel's socket buffers hold on loopback, and credit for all of it.
      initialStreamWindow: 64 * 1024 * KiB,
      maxStreamWindow: 64 * 1024 * KiB,
      maxQueuedBytes,
      outputStallBytes,
      outputStallTimeoutMs,
    });
    // Told at once, not on a later turn: time passes within synchronous calls here.
    let closedBy: Error | undefined | null = null;
    connection.events.onClose = (e) => (closedBy = e);
    const stream = connection.openStream(Buffer.from("GET /big"), false, {});
    expect(stream.write(Buffer.alloc(64 * 1024 * KiB))).toBe(false);
    // DATA stops at maxQueuedBytes: the rest of the body waits in the stream, not the socket.
    expect(connection.congested).toBe(true);
    expect(socket.writableLength).toBeGreaterThan(maxQueuedBytes);
    expect(socket.writableLength).toBeLessThanOrEqual(outputStallBytes);
    // Several stall timeouts pass with all of that still queued: DATA alone is no reason to cut.
    vi.advanceTimersByTime(5 * outputStallTimeoutMs);
    expect(closedBy).toBe(null);
    expect(connection.isClosed).toBe(false);
    // Then real I/O runs, one event-loop turn at a time (the kernel takes what it can, each drain
    // refills the socket with DATA, the peer still reads nothing), and after each turn two stall
    // timeouts pass. The pings each tick adds stay far below the margin between DATA's share and
    // outputStallBytes: 200 ticks queue under 4 KiB.
    for (let round = 0; round < 20; round++) {
      await new Promise((resolve) => setImmediate(resolve));
      expect(socket.writableLength).toBeLessThanOrEqual(outputStallBytes);
      vi.advanceTimersByTime(2 * outputStallTimeoutMs);
      expect(closedBy).toBe(null);
    }
    expect(connection.isClosed).toBe(false);
  });
});

describe("resolveMuxOptions output limits", () => {
  it("derives the output limits from maxQueuedBytes", () => {
    const defaults = resolveMuxOptions();
    expect([defaults.maxHelloBytes, defaults.maxFrameBytes]).toEqual([4 * KiB, 1024 * KiB]);
    expect([defaults.outputStallBytes, defaults.outputStallTimeoutMs, defaults.maxOutputBytes]).toEqual([4 * 1024 * KiB, 10_000, 16 * 1024 * KiB]);
    expect(resolveMuxOptions({ maxQueuedBytes: 2 * 1024 * KiB }).maxOutputBytes).toBe(32 * 1024 * KiB);
  });

  it("refuses limits a healthy connection would trip, naming the field", () => {
    expect(() => resolveMuxOptions({ maxQueuedBytes: 1024 * KiB, outputStallBytes: 1024 * KiB })).toThrow(/mux option outputStallBytes must be an integer ≥ 1114122/);
    expect(() => resolveMuxOptions({ outputStallBytes: 8 * 1024 * KiB, maxOutputBytes: 4 * 1024 * KiB })).toThrow(/mux option maxOutputBytes/);
    expect(() => resolveMuxOptions({ maxHelloBytes: 100 })).toThrow(/mux option maxHelloBytes must be an integer ≥ 512/);
  });
});
