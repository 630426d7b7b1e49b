import { fromBinary } from "@bufbuild/protobuf";
import { ErrorCode, OnrampError, parseErrorCode } from "@onramp/errors";
import { StreamResetSchema } from "@onramp/proto";
import type { Socket } from "node:net";
import { encodeFrame, encodeHeader, encodeU32, FLAG_END_STREAM, FLAG_TAKES_LOAN, FrameDecoder, FrameType, frameTypeName } from "./frame.js";
import { MuxStream, encodeReset, type StreamTransport } from "./mux-stream.js";
import { resolveMuxOptions, type MuxOptions, type ResolvedMuxOptions } from "./options.js";
import { OutputGuard } from "./output-guard.js";
import { StreamTable } from "./stream-table.js";

/**
 * How a connection is authenticated, which decides what it does before that:
 * - `"accept"`: this side accepted the TCP connection from a peer not yet known. It sends nothing
 *   and answers nothing until the peer's HELLO (at most `maxHelloBytes`) has been checked and
 *   `accept()` called; any other frame before that, or a larger one, closes the connection. An
 *   unauthenticated peer can therefore make us neither write nor buffer more than one hello.
 * - `"dial"`: this side opened the TCP connection and speaks first with `sendHello`; it starts
 *   pinging only once the peer's hello came back, so its hello is alone on the wire until then.
 *   What the peer sends before its answer is handled as usual (edges before this pinged first).
 * - `"none"`: no hello is exchanged (in-process pairs, tests); pings start at once.
 */
export type MuxHandshake = "accept" | "dial" | "none";

export interface MuxConnectionEvents {
  /**
   * The peer's HELLO frame. On the accepting side, check it, then call `accept()` or `destroy()`;
   * on the dialing side it is the peer's answer, and the connection is open.
   */
  onHello?(payload: Buffer): void;
  /** The peer opened a stream; set `stream.handler` before returning. */
  onStream?(stream: MuxStream, head: Buffer, endStream: boolean): void;
  /** The peer will open no more streams here. */
  onGoAway?(): void;
  /** The connection is gone; every open stream has been reset. */
  onClose?(error: Error | undefined): void;
}

const EMPTY = Buffer.alloc(0);

/**
 * Below this RTT a stream's window grows in less time than a loan (`streamLoan`) is worth. The
 * path's lowest RTT is compared, not the smoothed one: under load, queueing at either end puts
 * the smoothed RTT of a loopback connection above it.
 */
const LOAN_MIN_RTT_MS = 5;

/** Where a connection is in its handshake; see `MuxHandshake`. */
type Phase = "awaiting-hello" | "verifying-hello" | "awaiting-answer" | "open";

/**
 * Many request streams over one socket. The side that opens streams uses odd ids; frames are
 * batched per event-loop tick into one writev; DATA senders pause while the socket has more than
 * `maxQueuedBytes` queued, and every stream has its own auto-tuned credit window. A peer that
 * stops reading is cut off (`outputStallBytes`, `maxOutputBytes`), and one that has not said its
 * hello yet gets no answer to anything (`MuxHandshake`).
 */
export class MuxConnection implements StreamTransport {
  readonly options: ResolvedMuxOptions;
  /** Not a Map: see StreamTable. */
  private readonly streams = new StreamTable<MuxStream>();
  private readonly decoder: FrameDecoder;
  private readonly output: OutputGuard;
  private phase: Phase;
  private nextStreamId: number;
  private corked = false;
  private congestedFlag = false;
  private lastReceivedAt = performance.now();
  private lastTickAt = performance.now();
  private lastPingAt = 0;
  /** When the oldest ping nothing has been received since was sent; undefined while the peer is heard. */
  private unansweredSince: number | undefined;
  private pingTimer: NodeJS.Timeout;
  private srttMs = 0;
  /** The lowest round trip measured: the path's own delay, without queueing at either end. */
  private lowestRttMs = Number.POSITIVE_INFINITY;
  private lentBytes = 0;
  /** Opening side: credit the peer offered the next stream we open with a body (WINDOW on stream 0). */
  private offeredLoan = 0;
  /** Accepting side: the credit we offered for the peer's next stream with a body, not taken yet. */
  private loanOnOffer = 0;
  private goingAway = false;
  private peerGoingAway = false;
  private closedFlag = false;
  private readonly closedPromise: Promise<void>;
  private resolveClosed!: () => void;

  constructor(
    private readonly socket: Socket,
    /** True on the side that opens streams (the edge). */
    private readonly opensStreams: boolean,
    public events: MuxConnectionEvents = {},
    options?: MuxOptions,
    handshake: MuxHandshake = "none",
  ) {
    this.options = resolveMuxOptions(options);
    this.nextStreamId = opensStreams ? 1 : 2;
    this.closedPromise = new Promise((resolve) => (this.resolveClosed = resolve));
    this.phase = handshake === "accept" ? "awaiting-hello" : handshake === "dial" ? "awaiting-answer" : "open";
    const maxPayload = this.phase === "awaiting-hello" ? this.options.maxHelloBytes : this.options.maxFrameBytes;
    this.decoder = new FrameDecoder((type, flags, id, payload) => this.onFrame(type, flags, id, payload), maxPayload, true);
    this.output = new OutputGuard(socket, this.options);
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => {
      this.lastReceivedAt = performance.now();
      this.unansweredSince = undefined;
      try {
        this.decoder.push(chunk);
      } catch (err) {
        this.destroy(err as Error);
      }
    });
    socket.on("drain", () => this.onDrain());
    socket.on("error", (err) => this.destroy(err));
    socket.on("close", () => this.destroy(undefined));
    // Runs from the start, also before the hello: it watches the output queue as well as pings.
    this.pingTimer = setInterval(() => this.tick(), this.options.pingIntervalMs);
    this.pingTimer.unref();
    if (this.phase === "open") this.ping();
  }

  get congested(): boolean {
    return this.congestedFlag;
  }

  /** The lowest round-trip time measured, in ms: the path's own delay. Infinity until the first pong. */
  get minRttMs(): number {
    return this.lowestRttMs;
  }

  /** Smoothed round-trip time in ms, 0 until the first pong. */
  get rttMs(): number {
    return this.srttMs;
  }

  get activeStreams(): number {
    return this.streams.size;
  }

  /** False before the handshake is done, and once either side said GOAWAY or the connection closed. */
  get acceptsNewStreams(): boolean {
    return this.phase === "open" && !this.closedFlag && !this.goingAway && !this.peerGoingAway;
  }

  /**
   * A ping has gone unanswered for two ping intervals (nothing at all came back since): the peer
   * may be hung. New requests should go elsewhere while this lasts; the connection is given up
   * once the ping is `idleTimeoutMs` old.
   */
  get overdue(): boolean {
    return this.unansweredSince !== undefined && performance.now() - this.unansweredSince > 2 * this.options.pingIntervalMs;
  }

  get isClosed(): boolean {
    return this.closedFlag;
  }

  get remoteAddress(): string {
    return `${this.socket.remoteAddress}:${this.socket.remotePort}`;
  }

  /** Resolves once the connection is closed. */
  closed(): Promise<void> {
    return this.closedPromise;
  }

  /**
   * Opens a stream and sends its head; only on the side that opens streams. `lend`: the peer's
   * response may get credit beyond the initial window at once (`streamLoan`); pass false for
   * streams that may stay open a long time with little traffic (upgrades), which would hold
   * the connection's loan budget.
   */
  openStream(head: Uint8Array, endStream: boolean, handler: MuxStream["handler"], lend = true): MuxStream {
    if (!this.acceptsNewStreams) throw new Error("connection accepts no new streams");
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    if (this.nextStreamId > 0x7fffffff) this.goAway();
    const stream = this.createStream(id);
    stream.handler = handler;
    this.streams.set(stream);
    // A request body takes the credit the peer offered up front, if any: it need not wait a
    // round trip for its window to grow either.
    let flags = 0;
    if (lend && !endStream && this.offeredLoan > 0) {
      stream.addSendCredit(this.offeredLoan);
      this.offeredLoan = 0;
      flags = FLAG_TAKES_LOAN;
    }
    stream.sendHead(head, endStream, flags);
    const loan = this.options.streamLoan;
    if (lend && loan > 0 && this.longPath && this.lentBytes + loan <= this.options.maxLentBytes) {
      this.lentBytes += loan;
      stream.lend(loan);
    }
    // A request on a connection that has been quiet: ask at once whether the peer is still there,
    // so a peer that hung while idle is found within `idleTimeoutMs` of the request.
    if (this.unansweredSince === undefined && performance.now() - this.lastReceivedAt > this.options.pingIntervalMs) this.ping();
    return stream;
  }

  /** Sends this side's HELLO: the dialing side, first thing (or either side with no handshake). */
  sendHello(payload: Uint8Array): void {
    if (this.phase === "awaiting-hello" || this.phase === "verifying-hello") throw new Error("the accepting side answers a hello with accept()");
    this.sendFrame(FrameType.Hello, 0, 0, payload);
  }

  /**
   * Accepting side, once the peer's hello (`onHello`) checked out: answers with `hello` and opens
   * the connection (pings start, frames up to `maxFrameBytes` are taken). Any frame the peer
   * sends before this closes the connection; a check that fails calls `destroy()` instead.
   */
  accept(hello: Uint8Array): void {
    if (this.closedFlag) return; // a check that finished after the peer went away
    if (this.phase !== "verifying-hello") throw new Error(`accept() needs a hello being verified, not ${this.phase}`);
    this.sendFrame(FrameType.Hello, 0, 0, hello);
    this.open();
  }

  /**
   * Tells the peer no new streams will be opened here; open ones continue. The peer answers with
   * its own GOAWAY, and streams it opened before it heard ours are still taken: once both sides
   * have said it (`quiet` when no stream is left), nothing new can arrive.
   */
  goAway(): void {
    if (this.goingAway || this.closedFlag) return;
    this.goingAway = true;
    this.sendFrame(FrameType.GoAway, 0, 0);
  }

  /** Both sides said GOAWAY and no stream is open: closing now loses nothing. */
  get quiet(): boolean {
    return this.goingAway && this.peerGoingAway && this.streams.size === 0;
  }

  /**
   * Says GOAWAY, waits for the peer's answer and for open streams to finish (up to `timeoutMs`),
   * then closes the socket.
   */
  async drain(timeoutMs: number): Promise<void> {
    this.goAway();
    const deadline = performance.now() + timeoutMs;
    while (!this.quiet && !this.closedFlag && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    this.destroy(undefined);
  }

  /** Closes now; open streams are reset with AGENT_DISCONNECTED. */
  destroy(error: Error | undefined): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    // Stops DATA senders at once when this runs from inside a write (the output cap).
    this.congestedFlag = true;
    clearInterval(this.pingTimer);
    const message = error ? `data connection lost: ${error.message}` : "data connection closed";
    for (const stream of this.streams.values()) stream.abort(ErrorCode.AgentDisconnected, message);
    this.streams.clear();
    this.socket.destroy();
    this.events.onClose?.(error);
    this.resolveClosed();
  }

  // ---- StreamTransport ----------------------------------------------------------------------

  sendFrame(type: FrameType, flags: number, streamId: number, payload?: Uint8Array): void {
    this.write(encodeFrame(type, flags, streamId, payload));
  }

  sendData(streamId: number, flags: number, chunk: Buffer): void {
    if (chunk.length <= 1024) {
      this.write(encodeFrame(FrameType.Data, flags, streamId, chunk));
      return;
    }
    this.write(encodeHeader(FrameType.Data, flags, streamId, chunk.length));
    this.write(chunk);
  }

  streamClosed(stream: MuxStream): void {
    this.streams.delete(stream.id);
  }

  loanSettled(bytes: number): void {
    this.lentBytes -= bytes;
    this.offerLoan();
  }

  /** The path's lowest RTT is long enough for stream loans (`streamLoan`) to pay. */
  private get longPath(): boolean {
    return this.lowestRttMs >= LOAN_MIN_RTT_MS && this.lowestRttMs !== Number.POSITIVE_INFINITY;
  }

  /**
   * Accepting side: offers the peer credit for the next stream it opens with a body (a request
   * upload), so that body starts at the path's rate too; one offer at a time, reserved in the
   * loan budget until the stream that takes it settles it. A peer that knows nothing of offers
   * ignores a WINDOW frame on stream 0.
   */
  private offerLoan(): void {
    const loan = this.options.streamLoan;
    if (this.opensStreams || this.loanOnOffer > 0 || loan === 0 || this.phase !== "open" || this.closedFlag || !this.longPath) return;
    if (this.lentBytes + loan > this.options.maxLentBytes) return;
    this.lentBytes += loan;
    this.loanOnOffer = loan;
    this.sendFrame(FrameType.Window, 0, 0, encodeU32(loan));
  }

  /** Credit lent to streams (`streamLoan`) and not settled yet. */
  get lent(): number {
    return this.lentBytes;
  }

  // ---- internals ----------------------------------------------------------------------------

  private readonly uncork = (): void => {
    this.corked = false;
    this.socket.uncork();
  };

  private write(buf: Buffer): void {
    if (this.closedFlag) return;
    if (!this.corked) {
      // Flush once per event-loop turn (setImmediate runs after all I/O callbacks of the turn),
      // so frames produced by many sockets' events leave in one writev instead of one each.
      this.corked = true;
      this.socket.cork();
      setImmediate(this.uncork);
    }
    this.socket.write(buf);
    if (!this.congestedFlag && this.socket.writableLength >= this.options.maxQueuedBytes) {
      this.congestedFlag = true;
    }
    const overflow = this.output.afterWrite(performance.now());
    if (overflow) this.destroy(new OnrampError(ErrorCode.ProtocolError, overflow));
  }

  private onDrain(): void {
    this.output.drained();
    if (!this.congestedFlag) return;
    this.congestedFlag = false;
    for (const stream of this.streams.values()) {
      stream.flush();
      if (this.congestedFlag) return;
    }
  }

  private createStream(id: number): MuxStream {
    return new MuxStream(id, this, this.options.initialStreamWindow, this.options.maxStreamWindow);
  }

  private open(): void {
    this.phase = "open";
    this.decoder.maxPayload = this.options.maxFrameBytes;
    this.ping();
  }

  /** Before the handshake is done: only the peer's hello, and nothing answered. */
  private onHandshakeFrame(type: number, payload: Buffer): void {
    if (this.phase === "awaiting-hello" && type === FrameType.Hello) {
      this.phase = "verifying-hello";
      this.events.onHello?.(payload);
      return;
    }
    // A dialer waits for our answer before it sends anything more: this peer is not one of ours.
    const what = this.phase === "verifying-hello" ? "while its hello was being checked" : "before the hello";
    this.destroy(new OnrampError(ErrorCode.ProtocolError, `${frameTypeName(type)} frame ${what}`));
  }

  private onFrame(type: number, flags: number, id: number, payload: Buffer): void {
    // Frames after a destroy in the same chunk: nothing to do for them.
    if (this.closedFlag) return;
    if (this.phase === "awaiting-hello" || this.phase === "verifying-hello") return this.onHandshakeFrame(type, payload);
    if (this.phase === "awaiting-answer" && type === FrameType.Hello) this.open();
    switch (type) {
      case FrameType.Head: {
        const existing = this.streams.get(id);
        if (existing) return existing.receiveHead(payload, flags);
        // After our GOAWAY, streams the peer opened before it heard it are still taken; once it
        // answered with its own, it opens none.
        if (this.opensStreams || id % 2 === 0 || (this.goingAway && this.peerGoingAway)) {
          // A head for a stream we do not know: it was reset or never existed; tell the peer.
          this.sendFrame(FrameType.Reset, 0, id, encodeReset(ErrorCode.ProtocolError, "unknown stream"));
          return;
        }
        const stream = this.createStream(id);
        if ((flags & FLAG_TAKES_LOAN) !== 0) {
          if (this.loanOnOffer === 0) {
            this.sendFrame(FrameType.Reset, 0, id, encodeReset(ErrorCode.ProtocolError, "the stream took a loan that was not offered"));
            return;
          }
          // Already reserved in the budget when offered; the stream settles it like any loan.
          stream.lend(this.loanOnOffer, false);
          this.loanOnOffer = 0;
        }
        this.streams.set(stream);
        this.offerLoan();
        this.events.onStream?.(stream, payload, (flags & FLAG_END_STREAM) !== 0);
        if ((flags & FLAG_END_STREAM) !== 0) stream.receiveEnd(EMPTY);
        return;
      }
      case FrameType.Data: {
        const stream = this.streams.get(id);
        if (!stream) return; // late data for a stream we reset: its credit no longer matters
        if (!stream.receiveData(payload, flags)) {
          const message = "peer exceeded the stream's flow-control window";
          this.sendFrame(FrameType.Reset, 0, id, encodeReset(ErrorCode.ProtocolError, message));
          stream.abort(ErrorCode.ProtocolError, message);
        }
        return;
      }
      case FrameType.End:
        return this.streams.get(id)?.receiveEnd(payload);
      case FrameType.Reset: {
        const stream = this.streams.get(id);
        if (!stream) return;
        const reset = fromBinary(StreamResetSchema, payload);
        return stream.abort(parseErrorCode(reset.code), reset.message);
      }
      case FrameType.Window:
        if (payload.length !== 4) return this.destroy(new Error("malformed WINDOW frame"));
        // On stream 0: credit offered for the next stream we open with a body (the peer makes a
        // new offer only once the last was taken).
        if (id === 0) {
          if (this.opensStreams) this.offeredLoan = payload.readUInt32BE(0);
          return;
        }
        return this.streams.get(id)?.receiveWindow(payload.readUInt32BE(0));
      case FrameType.Ping:
        // Ours carry an 8-byte timestamp; like HTTP/2 (RFC 9113 §6.7), other sizes are an error,
        // so a pong costs no more than the ping that asked for it.
        if (payload.length !== 8) return this.destroy(new OnrampError(ErrorCode.ProtocolError, `PING of ${payload.length} bytes, not 8`));
        return this.sendFrame(FrameType.Pong, 0, 0, payload);
      case FrameType.Pong:
        return this.onPong(payload);
      case FrameType.GoAway:
        this.peerGoingAway = true;
        // The answer tells the peer that every stream we opened before it is already on its way.
        this.goAway();
        return this.events.onGoAway?.();
      case FrameType.Hello:
        return this.events.onHello?.(payload);
      default:
        return this.destroy(new Error(`unknown frame type ${type}`));
    }
  }

  private ping(): void {
    const now = performance.now();
    this.lastPingAt = now;
    this.unansweredSince ??= now;
    const payload = Buffer.allocUnsafe(8);
    payload.writeDoubleBE(now, 0);
    this.sendFrame(FrameType.Ping, 0, 0, payload);
  }

  private onPong(payload: Buffer): void {
    if (payload.length !== 8) return;
    const sample = performance.now() - payload.readDoubleBE(0);
    this.srttMs = this.srttMs === 0 ? sample : (7 * this.srttMs + sample) / 8;
    if (sample < this.lowestRttMs) this.lowestRttMs = sample;
    this.offerLoan();
  }

  /**
   * Every `pingIntervalMs`: gives up a peer that does not read what we queue for it (see
   * `OutputGuard`) or whose ping has gone unanswered for `idleTimeoutMs`; once the handshake is
   * done, pings — each tick while streams are open (a hang under load is found in under 2 s),
   * every `idlePingIntervalMs` otherwise (an idle connection costs next to nothing, and stays
   * known to NATs and the peer).
   */
  private tick(): void {
    const now = performance.now();
    const stalled = this.output.check(now);
    if (stalled) return this.destroy(new OnrampError(ErrorCode.ProtocolError, stalled));
    // This process stalled (a long GC, a blocked event loop): the peer's frames may be sitting
    // unread in the socket. Judge the peer again from now rather than for our own silence.
    if (now - this.lastTickAt > 2 * this.options.pingIntervalMs && this.unansweredSince !== undefined) this.unansweredSince = now;
    this.lastTickAt = now;
    if (this.unansweredSince !== undefined && now - this.unansweredSince > this.options.idleTimeoutMs) {
      this.destroy(new Error(`no answer to a ping for ${this.options.idleTimeoutMs} ms`));
      return;
    }
    if (this.phase !== "open") return; // before the handshake is done, a ping would break it
    if (this.streams.size > 0 || now - this.lastPingAt >= this.options.idlePingIntervalMs) this.ping();
  }
}
