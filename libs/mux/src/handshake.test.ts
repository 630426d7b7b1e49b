import { createServer, connect, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { encodeFrame, encodeHeader, FrameDecoder, FrameType } from "./frame.js";
import { MuxConnection, type MuxConnectionEvents } from "./mux-connection.js";
import type { MuxOptions } from "./options.js";

const servers: Server[] = [];
const sockets: Socket[] = [];
const conns: MuxConnection[] = [];

afterEach(() => {
  for (const c of conns.splice(0)) c.destroy(undefined);
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) s.close();
  vi.useRealTimers();
});

type Frame = { type: number; payload: Buffer };

/** A raw peer: writes what a test tells it and records every frame it receives, until the connection closes. */
interface RawPeer {
  socket: Socket;
  frames: Frame[];
  closed: Promise<void>;
  /** Resolves with the frames received up to and including the first of `type`. */
  until(type: number): Promise<Frame[]>;
}

function rawPeer(socket: Socket): RawPeer {
  sockets.push(socket);
  const frames: Frame[] = [];
  const waiters = new Set<() => void>();
  const decoder = new FrameDecoder((type, _flags, _id, payload) => {
    frames.push({ type, payload: Buffer.from(payload) });
    for (const wake of waiters) wake();
  });
  socket.on("data", (chunk: Buffer) => decoder.push(chunk));
  socket.on("error", () => undefined);
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  const until = (type: number) =>
    new Promise<Frame[]>((resolve, reject) => {
      const check = () => {
        const i = frames.findIndex((f) => f.type === type);
        if (i >= 0) {
          waiters.delete(check);
          resolve(frames.slice(0, i + 1));
        }
      };
      waiters.add(check);
      void closed.then(() => waiters.has(check) && reject(new Error(`closed before a frame of type ${type}`)));
      check();
    });
  return { socket, frames, closed, until };
}

/** A socket pair on loopback: `[accepted, dialled]`. */
async function socketPair(): Promise<[Socket, Socket]> {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const accepted = new Promise<Socket>((resolve) => server.once("connection", resolve));
  const dialled = connect((server.address() as { port: number }).port, "127.0.0.1");
  await new Promise<void>((resolve) => dialled.once("connect", resolve));
  return [await accepted, dialled];
}

/** The edge's side of a data connection, not yet authenticated, and a raw client talking to it. */
async function acceptingSide(events: MuxConnectionEvents = {}, options: MuxOptions = {}) {
  const [accepted, dialled] = await socketPair();
  const connection = new MuxConnection(accepted, true, events, { pingIntervalMs: 20, idleTimeoutMs: 200, ...options }, "accept");
  conns.push(connection);
  const error = new Promise<Error | undefined>((resolve) => (connection.events.onClose = resolve));
  return { connection, peer: rawPeer(dialled), error };
}

const PING = encodeFrame(FrameType.Ping, 0, 0, Buffer.alloc(8, 1));

describe("a connection awaiting its peer's hello", () => {
  it("answers nothing to a peer that pings first, and closes the connection", async () => {
    const { peer, error } = await acceptingSide();
    peer.socket.write(PING);
    expect((await error)?.message).toBe("PING frame before the hello");
    await peer.closed;
    // Not a pong, and not the ping a connection sends when it opens either.
    expect(peer.frames).toEqual([]);
  });

  it.each([
    ["HEAD", encodeFrame(FrameType.Head, 0, 1, Buffer.from("GET /"))],
    ["DATA", encodeFrame(FrameType.Data, 0, 1, Buffer.from("body"))],
    ["WINDOW", encodeFrame(FrameType.Window, 0, 1, Buffer.from([0, 1, 0, 0]))],
    ["RESET", encodeFrame(FrameType.Reset, 0, 1)],
    ["GOAWAY", encodeFrame(FrameType.GoAway, 0, 0)],
    ["PONG", encodeFrame(FrameType.Pong, 0, 0, Buffer.alloc(8))],
  ])("refuses a %s frame before the hello", async (name, frame) => {
    let streams = 0;
    const { peer, error } = await acceptingSide({ onStream: () => streams++ });
    peer.socket.write(frame);
    expect((await error)?.message).toBe(`${name} frame before the hello`);
    await peer.closed;
    expect(peer.frames).toEqual([]);
    expect(streams).toBe(0);
  });

  it("refuses a frame header announcing more than maxHelloBytes before its payload arrives", async () => {
    let hellos = 0;
    const { peer, error } = await acceptingSide({ onHello: () => hellos++ }, { maxHelloBytes: 4096 });
    // Only the header of a 1 MiB hello is ever sent: the connection must not wait to buffer the rest.
    peer.socket.write(encodeHeader(FrameType.Hello, 0, 0, 1024 * 1024));
    expect((await error)?.message).toBe("frame payload of 1048576 bytes exceeds the 4096-byte limit");
    await peer.closed;
    expect(hellos).toBe(0);
  });

  it("refuses a hello one byte over maxHelloBytes", async () => {
    const { peer, error } = await acceptingSide({}, { maxHelloBytes: 1024 });
    peer.socket.write(encodeFrame(FrameType.Hello, 0, 0, Buffer.alloc(1025)));
    expect((await error)?.message).toMatch(/1025 bytes exceeds the 1024-byte limit/);
  });

  it("refuses frames sent while the hello is being checked", async () => {
    const { connection, peer, error } = await acceptingSide({ onHello: () => undefined /* checked later */ });
    peer.socket.write(Buffer.concat([encodeFrame(FrameType.Hello, 0, 0, Buffer.from("me")), PING]));
    expect((await error)?.message).toBe("PING frame while its hello was being checked");
    // A check that finishes after the connection died sends nothing.
    connection.accept(new Uint8Array(0));
    await peer.closed;
    expect(peer.frames).toEqual([]);
  });

  it("once accepted answers the hello first, then pings, answers pings and takes frames up to maxFrameBytes", async () => {
    const { connection, peer } = await acceptingSide({}, { maxHelloBytes: 1024 });
    let hello = "";
    connection.events.onHello = (payload) => {
      connection.events.onHello = undefined;
      hello = payload.toString();
      connection.accept(Buffer.from("welcome"));
    };
    expect(connection.acceptsNewStreams).toBe(false);
    peer.socket.write(encodeFrame(FrameType.Hello, 0, 0, Buffer.from("let me in")));
    const first = await peer.until(FrameType.Ping);
    expect(first.map((f) => f.type)).toEqual([FrameType.Hello, FrameType.Ping]);
    expect(hello).toBe("let me in");
    expect(first[0]!.payload.toString()).toBe("welcome");
    expect(connection.acceptsNewStreams).toBe(true);
    // Larger than a hello may be, fine now; then a ping, which gets its pong.
    peer.socket.write(Buffer.concat([encodeFrame(FrameType.Hello, 0, 0, Buffer.alloc(64 * 1024)), PING]));
    const pong = (await peer.until(FrameType.Pong)).at(-1)!;
    expect(pong.payload).toEqual(Buffer.alloc(8, 1));
    expect(connection.isClosed).toBe(false);
  });

  it("closes on a PING of other than 8 bytes once open, so a pong never costs more than its ping", async () => {
    const { connection, peer, error } = await acceptingSide({ onHello: () => connection.accept(new Uint8Array(0)) });
    peer.socket.write(encodeFrame(FrameType.Hello, 0, 0));
    await peer.until(FrameType.Hello);
    peer.socket.write(encodeFrame(FrameType.Ping, 0, 0, Buffer.alloc(1024 * 1024)));
    expect((await error)?.message).toBe("PING of 1048576 bytes, not 8");
    expect(peer.frames.filter((f) => f.type === FrameType.Pong)).toEqual([]);
  });
});

describe("a connection dialling out", () => {
  it("sends its hello first and alone, and pings only once the peer answered", async () => {
    const [accepted, dialled] = await socketPair();
    const peer = rawPeer(accepted);
    // The dialler's clock (its ping timer and performance.now()) is driven by the test; sockets and
    // setImmediate, which flushes its writes, stay real.
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval", "performance"] });
    const dialler = new MuxConnection(dialled, false, {}, { pingIntervalMs: 10, idlePingIntervalMs: 10, idleTimeoutMs: 1_000 }, "dial");
    conns.push(dialler);
    let answered = false;
    dialler.events.onHello = (payload) => (answered = payload.toString() === "ok");
    dialler.sendHello(Buffer.from("hi"));
    await peer.until(FrameType.Hello);
    // Fifty ping intervals with no answer (yet short of idleTimeoutMs): a dialler that pinged before
    // it is answered would have by now.
    vi.advanceTimersByTime(50 * 10);
    // A frame the dialler never sends here, written behind its back on the same socket: once it
    // arrives, so has everything the dialler wrote before it.
    dialled.write(encodeFrame(FrameType.GoAway, 0, 0));
    expect((await peer.until(FrameType.GoAway)).map((f) => f.type)).toEqual([FrameType.Hello, FrameType.GoAway]);
    peer.socket.write(encodeFrame(FrameType.Hello, 0, 0, Buffer.from("ok")));
    expect((await peer.until(FrameType.Ping)).map((f) => f.type)).toEqual([FrameType.Hello, FrameType.GoAway, FrameType.Ping]);
    expect(answered).toBe(true);
  });

  it("carries streams with an accepting peer once the handshake is done", async () => {
    const [accepted, dialled] = await socketPair();
    // As on a data connection: the agent dials and serves streams; the edge accepts and opens them.
    const agent = new MuxConnection(dialled, false, {}, {}, "dial");
    const edge = new MuxConnection(accepted, true, {}, {}, "accept");
    conns.push(agent, edge);
    agent.events.onStream = (stream, head) => stream.sendHead(Buffer.from(`re: ${head}`), true);
    const open = new Promise<void>((resolve) => (agent.events.onHello = () => resolve()));
    edge.events.onHello = (payload) => payload.toString() === "token" && edge.accept(new Uint8Array(0));
    agent.sendHello(Buffer.from("token"));
    await open;
    const reply = await new Promise<string>((resolve) => edge.openStream(Buffer.from("GET /"), true, { onHead: (h) => resolve(h.toString()) }));
    expect(reply).toBe("re: GET /");
  });
});
