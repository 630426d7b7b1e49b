import type { Duplex, Writable } from "node:stream";
import type { MuxStream } from "./mux-stream.js";

/**
 * Writes the peer's body bytes into `writable` and returns their credit to the peer once the
 * writable has taken them: at once while it accepts more, after its next 'drain' when it is full.
 * The peer can therefore never have more than one window of bytes buffered here.
 *
 * Chunks that arrive in one turn of the event loop go out in one write: the writable is corked at
 * the first and uncorked on the next tick. DATA frames rarely line up with the connection's
 * reads, so one read usually carries parts of two frames, which were two write syscalls.
 */
export function creditedWriter(stream: MuxStream, writable: Writable): (chunk: Buffer) => void {
  let pending = 0;
  let waiting = false;
  let corked = false;
  const uncork = () => {
    corked = false;
    writable.uncork();
  };
  writable.on("drain", () => {
    waiting = false;
    if (pending > 0) {
      stream.consumed(pending);
      pending = 0;
    }
  });
  return (chunk) => {
    if (!corked) {
      corked = true;
      writable.cork();
      process.nextTick(uncork);
    }
    if (writable.write(chunk) && !waiting) stream.consumed(chunk.length);
    else {
      waiting = true;
      pending += chunk.length;
    }
  };
}

/**
 * Joins a socket and a stream byte for byte, with backpressure both ways: what the peer sends goes
 * to the socket under `creditedWriter`; what the socket sends goes to the peer, pausing the socket
 * while the stream has no credit. Half-closes travel both ways. Used after a protocol switch (101)
 * on both sides of the tunnel; the caller keeps `onHead` and `onReset`, and handles 'close'.
 */
export function bridgeSocket(stream: MuxStream, socket: Duplex): void {
  const write = creditedWriter(stream, socket);
  stream.handler.onData = write;
  stream.handler.onEnd = () => socket.end();
  stream.handler.onWritable = () => socket.resume();
  socket.on("data", (chunk: Buffer) => {
    if (!stream.write(chunk)) socket.pause();
  });
  socket.on("end", () => stream.end());
  socket.on("error", () => undefined);
}

/**
 * Joins two streams frame for frame (a relay: one stream from the edge that received the request,
 * one to the agent): heads, body bytes, ends with trailers and resets travel both ways. Credit is
 * returned to each sender only once the other stream has taken its bytes, so the windows of the
 * two hops chain and neither end can make this edge buffer more than one window per direction.
 * The first head is the caller's business (it opened `b` with it); later heads are forwarded.
 */
export function spliceStreams(a: MuxStream, b: MuxStream): void {
  pipeHalf(a, b);
  pipeHalf(b, a);
}

function pipeHalf(from: MuxStream, to: MuxStream): void {
  let pending = 0;
  from.handler.onHead = (payload, endStream) => to.sendHead(payload, endStream);
  from.handler.onData = (chunk) => {
    if (to.write(chunk) && pending === 0) from.consumed(chunk.length);
    else pending += chunk.length;
  };
  to.handler.onWritable = () => {
    if (pending === 0) return;
    from.consumed(pending);
    pending = 0;
  };
  from.handler.onEnd = (trailers) => to.end(trailers);
  from.handler.onReset = (code, message) => to.reset(code, message);
}
