import { ErrorCode } from "@onramp/errors";
import { createServer, connect, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { FLAG_TAKES_LOAN, FrameType } from "./frame.js";
import { MuxConnection } from "./mux-connection.js";
import type { MuxStream } from "./mux-stream.js";

const servers: Server[] = [];
const conns: MuxConnection[] = [];

afterEach(() => {
  for (const c of conns.splice(0)) c.destroy(undefined);
  for (const s of servers.splice(0)) s.close();
});

/** A connected pair over loopback TCP: `opener` (edge role) and `acceptor` (agent role). */
type Timing = { pingIntervalMs?: number; idleTimeoutMs?: number; idlePingIntervalMs?: number };

async function pair(onStream: (stream: MuxStream, head: Buffer, end: boolean) => void, timing: Timing = {}, acceptorTiming: Timing = timing) {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const accepted = new Promise<Socket>((resolve) => server.once("connection", resolve));
  const port = (server.address() as { port: number }).port;
  const client = connect(port, "127.0.0.1");
  await new Promise<void>((resolve) => client.once("connect", resolve));
  const opener = new MuxConnection(await accepted, true, {}, { initialStreamWindow: 64 * 1024, maxStreamWindow: 256 * 1024, ...timing });
  const acceptor = new MuxConnection(client, false, { onStream }, { initialStreamWindow: 64 * 1024, maxStreamWindow: 256 * 1024, ...acceptorTiming });
  conns.push(opener, acceptor);
  return { opener, acceptor, client };
}

/**
 * A pair as above with `oneWayMs` of delay each way (a TCP relay that holds every chunk that
 * long), and stream loans on: a long path, where `streamLoan` applies.
 */
async function longPathPair(onStream: (stream: MuxStream, head: Buffer, end: boolean) => void, oneWayMs: number) {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const accepted = new Promise<Socket>((resolve) => server.once("connection", resolve));
  const relay = createServer((inbound) => {
    const outbound = connect((server.address() as { port: number }).port, "127.0.0.1");
    const delayed = (from: Socket, to: Socket) => from.on("data", (chunk) => setTimeout(() => to.write(chunk), oneWayMs));
    delayed(inbound, outbound);
    delayed(outbound, inbound);
    const close = () => (inbound.destroy(), outbound.destroy());
    inbound.on("close", close).on("error", close);
    outbound.on("close", close).on("error", close);
  });
  servers.push(relay);
  await new Promise<void>((resolve) => relay.listen(0, "127.0.0.1", resolve));
  const client = connect((relay.address() as { port: number }).port, "127.0.0.1");
  await new Promise<void>((resolve) => client.once("connect", resolve));
  // maxQueuedBytes above the bodies: only credit, not the socket queue, stops a write here.
  // A slow test machine must not make the pair give up on each other (a ping unanswered for 1.5 s).
  const windows = { idleTimeoutMs: 30_000, initialStreamWindow: 64 * 1024, maxStreamWindow: 8 * 1024 * 1024, streamLoan: 2 * 1024 * 1024, maxLentBytes: 4 * 1024 * 1024, maxQueuedBytes: 8 * 1024 * 1024 };
  const opener = new MuxConnection(await accepted, true, {}, windows);
  const acceptor = new MuxConnection(client, false, { onStream }, windows);
  conns.push(opener, acceptor);
  // Both ends have measured the path (about 2 × oneWayMs; timers may fire a little early).
  const measured = () => opener.minRttMs !== Number.POSITIVE_INFINITY && acceptor.minRttMs !== Number.POSITIVE_INFINITY;
  await waitFor(measured, 15_000).catch((err) => {
    throw new Error(`${err.message} (opener closed ${opener.isClosed}, acceptor closed ${acceptor.isClosed})`);
  });
  expect(Math.min(opener.minRttMs, acceptor.minRttMs)).toBeGreaterThanOrEqual(5);
  return { opener, acceptor };
}

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`not met within ${timeoutMs} ms: ${condition}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe("MuxConnection stream loans", () => {
  /** The acceptor answers each stream with a head and, once the stream's credit is in, `body` bytes in one write. */
  function answerWith(body: number, wrote: Map<string, boolean>) {
    return (stream: MuxStream, head: Buffer) => {
      stream.handler = {};
      // The loan's WINDOW frame comes right after the head, in the same batch.
      setImmediate(() => {
        stream.sendHead(Buffer.from("200"), false);
        wrote.set(head.toString(), stream.write(Buffer.alloc(body, 1)));
        stream.end();
      });
    };
  }

  it("lends a stream it opens on a long path credit for its response at once, and settles the loan when the response ends", async () => {
    const wrote = new Map<string, boolean>();
    const { opener } = await longPathPair(answerWith(64 * 1024 + 2 * 1024 * 1024, wrote), 5);
    let received = 0;
    const ended = new Promise<void>((resolve) => {
      const stream = opener.openStream(Buffer.from("download"), true, {
        onData: (chunk) => {
          received += chunk.length;
          stream.consumed(chunk.length);
        },
        onEnd: () => resolve(),
      });
    });
    expect(opener.lent).toBe(2 * 1024 * 1024);
    await ended;
    // Initial window plus loan: the whole body went out in the first write, no round trip waited.
    expect(wrote.get("download")).toBe(true);
    expect(received).toBe(64 * 1024 + 2 * 1024 * 1024);
    expect(opener.lent).toBe(0);
  });

  it("lends no more than maxLentBytes at a time, and nothing to upgrades", async () => {
    const wrote = new Map<string, boolean>();
    const { opener } = await longPathPair(answerWith(64 * 1024 + 2 * 1024 * 1024, wrote), 5);
    // Nobody reads these responses: their loans stay outstanding.
    opener.openStream(Buffer.from("a"), true, {});
    opener.openStream(Buffer.from("b"), true, {});
    opener.openStream(Buffer.from("c"), true, {});
    opener.openStream(Buffer.from("ws"), false, {}, false);
    expect(opener.lent).toBe(4 * 1024 * 1024);
    await waitFor(() => wrote.size === 4);
    expect([wrote.get("a"), wrote.get("b"), wrote.get("c"), wrote.get("ws")]).toEqual([true, true, false, false]);
  });

  it("offers the next stream with a request body credit up front on a long path, which it takes", async () => {
    const got = new Map<string, number>();
    const { opener, acceptor } = await longPathPair((stream, head) => {
      const name = head.toString();
      stream.handler = {
        onData: (chunk) => {
          got.set(name, (got.get(name) ?? 0) + chunk.length);
          stream.consumed(chunk.length);
        },
        onEnd: () => stream.sendHead(Buffer.from("200"), true),
      };
    }, 5);
    // The acceptor offers once it has measured the path; the offer is reserved in its budget.
    await waitFor(() => acceptor.lent === 2 * 1024 * 1024);
    // A request without a body leaves the offer for one with a body.
    await new Promise<void>((resolve) => opener.openStream(Buffer.from("GET"), true, { onHead: () => resolve() }));
    const upload = opener.openStream(Buffer.from("POST"), false, {});
    const answered = new Promise<void>((resolve) => (upload.handler.onHead = () => resolve()));
    // Initial window plus the loan goes out at once, without waiting for credit.
    expect(upload.write(Buffer.alloc(64 * 1024 + 2 * 1024 * 1024, 1))).toBe(true);
    upload.end();
    await answered;
    expect(got.get("POST")).toBe(64 * 1024 + 2 * 1024 * 1024);
    // Settled; a new offer stands for the next upload.
    await waitFor(() => acceptor.lent === 2 * 1024 * 1024);
  });

  it("resets a stream that takes a loan it was not offered", async () => {
    const opened: string[] = [];
    const { opener } = await pair((stream, head) => {
      opened.push(head.toString());
      stream.handler = { onEnd: () => stream.sendHead(Buffer.from("200"), true) };
    });
    let reset = "";
    // Stream 99, opened by hand with the flag, on a short path where nothing was offered.
    opener.sendFrame(FrameType.Head, FLAG_TAKES_LOAN, 99, Buffer.from("sneaky"));
    const stream = opener.openStream(Buffer.from("honest"), true, { onReset: (_code, message) => (reset = message) });
    await new Promise<void>((resolve) => (stream.handler.onHead = () => resolve()));
    expect(opened).toEqual(["honest"]);
    expect(reset).toBe("");
  });

  it("lends nothing on a short path", async () => {
    const { opener } = await pair(() => {}, {}, {});
    await waitFor(() => opener.rttMs > 0);
    opener.openStream(Buffer.from("GET /"), true, {});
    // Loopback's lowest RTT is far under 5 ms, unless a loaded machine made every sample so far
    // slower than that; then the rule lends (the pair's default loan: max minus initial window).
    expect(opener.lent).toBe(opener.minRttMs < 5 ? 0 : 256 * 1024 - 64 * 1024);
  });
});

describe("MuxConnection", () => {
  it("serves a stream the peer opened before it heard GOAWAY, and is quiet only after the peer's answer", async () => {
    const { opener, acceptor } = await pair((stream) => {
      stream.handler = { onEnd: () => stream.sendHead(Buffer.from("served"), true) };
    });
    acceptor.goAway();
    expect(acceptor.quiet).toBe(false); // the peer has not answered yet: a head may be on its way
    // Opened in the same tick, before the GOAWAY can have arrived: the race a drain must not lose.
    const answer = new Promise<string>((resolve, reject) => {
      opener.openStream(Buffer.from("late"), true, { onHead: (head) => resolve(head.toString()), onReset: (code) => reject(new Error(code)) });
    });
    expect(await answer).toBe("served");
    await new Promise<void>((resolve) => {
      const check = setInterval(() => acceptor.quiet && (clearInterval(check), resolve()), 5);
    });
    expect(opener.acceptsNewStreams).toBe(false);
  });

  it("gives up a peer that stops answering pings, and stops offering it first", async () => {
    // The peer pings rarely itself, so after it hangs nothing at all comes from it.
    const { opener, client } = await pair(() => undefined, { pingIntervalMs: 20, idlePingIntervalMs: 20, idleTimeoutMs: 200 }, { pingIntervalMs: 60_000, idleTimeoutMs: 120_000 });
    // Pongs flow while the peer runs.
    await new Promise<void>((resolve) => {
      const check = setInterval(() => opener.rttMs > 0 && (clearInterval(check), resolve()), 5);
    });
    expect(opener.overdue).toBe(false);
    // The peer hangs (as under SIGSTOP): it reads nothing more, so it answers no ping.
    client.pause();
    let overdueBeforeClose = false;
    const watch = setInterval(() => (overdueBeforeClose ||= opener.overdue && !opener.isClosed), 5);
    const closed = new Promise<Error | undefined>((resolve) => (opener.events.onClose = resolve));
    const error = await closed;
    clearInterval(watch);
    expect(error?.message).toMatch(/no answer to a ping for 200 ms/);
    expect(overdueBeforeClose).toBe(true);
  });

  it("pings at once when a request goes on a quiet connection, so a peer that hung while idle is found", async () => {
    // Idle pings are far apart (60 s): only the request's own ping can reveal the hang.
    const { opener, client } = await pair(() => undefined, { pingIntervalMs: 20, idlePingIntervalMs: 60_000, idleTimeoutMs: 200 }, { pingIntervalMs: 60_000, idleTimeoutMs: 120_000 });
    await new Promise<void>((resolve) => {
      const check = setInterval(() => opener.rttMs > 0 && (clearInterval(check), resolve()), 5);
    });
    client.pause();
    // Let the connection go quiet for longer than a ping interval, then send a request on it.
    await new Promise<void>((resolve) => {
      const started = performance.now();
      const check = setInterval(() => performance.now() - started > 60 && (clearInterval(check), resolve()), 5);
    });
    const reset = new Promise<string>((resolve) => opener.openStream(Buffer.from("x"), true, { onReset: (code) => resolve(code) }));
    const closed = new Promise<Error | undefined>((resolve) => (opener.events.onClose = resolve));
    expect((await closed)?.message).toMatch(/no answer to a ping for 200 ms/);
    expect(await reset).toBe("AGENT_DISCONNECTED");
  });

  it("carries heads, a large body under flow control, and trailers", async () => {
    const total = 8 * 1024 * 1024;
    let received = 0;
    const done = new Promise<{ head: string; trailers: string | undefined }>((resolve) => {
      let head = "";
      void pair((stream, h) => {
        head = h.toString();
        stream.handler = {
          onData: (chunk) => {
            received += chunk.length;
            // Consume slowly so the sender must wait for credit.
            setTimeout(() => stream.consumed(chunk.length), 1);
          },
          onEnd: (trailers) => {
            stream.sendHead(Buffer.from("200"), true);
            resolve({ head, trailers: trailers?.toString() });
          },
        };
      }).then(({ opener }) => {
        let sent = 0;
        let refusals = 0;
        const stream = opener.openStream(Buffer.from("POST /upload"), false, {
          onWritable: () => pump(),
        });
        const chunk = Buffer.alloc(100_000, 7);
        const pump = () => {
          while (sent < total) {
            sent += chunk.length;
            if (!stream.write(chunk)) {
              refusals++;
              return;
            }
          }
          stream.end(Buffer.from("x-checksum: ok"));
          expect(refusals).toBeGreaterThan(0);
        };
        pump();
      });
    });
    const result = await done;
    expect(result.head).toBe("POST /upload");
    expect(result.trailers).toBe("x-checksum: ok");
    expect(received).toBe(Math.ceil(total / 100_000) * 100_000);
  });

  it("keeps a stalled stream from blocking the others", async () => {
    const got = new Map<string, number>();
    const { opener } = await pair((stream, head) => {
      const name = head.toString();
      stream.handler = {
        onData: (chunk) => {
          got.set(name, (got.get(name) ?? 0) + chunk.length);
          if (name === "fast") stream.consumed(chunk.length); // "stalled" never consumes
        },
        onEnd: () => stream.sendHead(Buffer.from("done"), true),
      };
    });
    const stalled = opener.openStream(Buffer.from("stalled"), false, {});
    expect(stalled.write(Buffer.alloc(1024 * 1024))).toBe(false);
    const fastDone = new Promise<void>((resolve) => {
      const fast = opener.openStream(Buffer.from("fast"), false, { onHead: () => resolve() });
      const body = Buffer.alloc(2 * 1024 * 1024, 1);
      const send = () => {
        if (fast.write(body)) fast.end();
      };
      fast.handler.onWritable = () => fast.end();
      send();
    });
    await fastDone;
    expect(got.get("fast")).toBe(2 * 1024 * 1024);
    // The stalled stream received exactly its initial window and not a byte more.
    expect(got.get("stalled")).toBe(64 * 1024);
  });

  it("propagates a reset to the peer", async () => {
    const reset = new Promise<[string, string]>((resolve) => {
      void pair((stream) => {
        stream.handler = { onReset: (code, message) => resolve([code, message]) };
      }).then(({ opener }) => {
        const stream = opener.openStream(Buffer.from("GET /"), false, {});
        stream.reset(ErrorCode.BodyTooLarge, "request body over 1 MiB");
      });
    });
    expect(await reset).toEqual([ErrorCode.BodyTooLarge, "request body over 1 MiB"]);
  });

  it("resets every open stream with AGENT_DISCONNECTED when the peer goes away", async () => {
    const { opener, acceptor } = await pair(() => {});
    const codes = Promise.all(
      [1, 2, 3].map(
        () =>
          new Promise<string>((resolve) => {
            opener.openStream(Buffer.from("GET /"), true, { onReset: (code) => resolve(code) });
          }),
      ),
    );
    await new Promise((r) => setTimeout(r, 20));
    acceptor.destroy(undefined);
    expect(await codes).toEqual([ErrorCode.AgentDisconnected, ErrorCode.AgentDisconnected, ErrorCode.AgentDisconnected]);
    await opener.closed();
    expect(opener.activeStreams).toBe(0);
  });

  it("measures the round-trip time", async () => {
    const { opener } = await pair(() => {});
    await new Promise((r) => setTimeout(r, 50));
    expect(opener.rttMs).toBeGreaterThan(0);
  });
});
