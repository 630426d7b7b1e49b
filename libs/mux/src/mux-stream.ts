import { toBinary, create } from "@bufbuild/protobuf";
import { ErrorCode } from "@onramp/errors";
import { StreamResetSchema } from "@onramp/proto";
import { ReceiveWindow } from "./flow-control.js";
import { FLAG_END_STREAM, FrameType, MAX_DATA_CHUNK } from "./frame.js";

/** What a stream's owner hears. Set these right after the stream is opened or accepted. */
export interface StreamHandler {
  /** The peer's head (a RequestHead or ResponseHead, protobuf-encoded). */
  onHead?(payload: Buffer, endStream: boolean): void;
  /** A body chunk. Call `stream.consumed(n)` once the bytes have left your buffers. */
  onData?(chunk: Buffer): void;
  /** The peer finished sending; `trailers` is an encoded Trailers message, if any. */
  onEnd?(trailers: Buffer | undefined): void;
  /** The stream was aborted, by the peer or because the connection died. */
  onReset?(code: ErrorCode, message: string): void;
  /** `write()` returned false earlier and the stream can take more now. */
  onWritable?(): void;
}

/** The connection-side services a stream needs; implemented by MuxConnection. */
export interface StreamTransport {
  readonly congested: boolean;
  readonly rttMs: number;
  sendFrame(type: FrameType, flags: number, streamId: number, payload?: Uint8Array): void;
  sendData(streamId: number, flags: number, chunk: Buffer): void;
  streamClosed(stream: MuxStream): void;
  /** Credit this stream lent at opening (`MuxStream.lend`) is settled: it counts against nothing any more. */
  loanSettled(bytes: number): void;
}

/**
 * One request/response exchange on a data connection: a head each way, body bytes each way
 * under a credit window, then end (with optional trailers) or reset.
 */
export class MuxStream {
  handler: StreamHandler = {};
  private sendWindow: number;
  private readonly recvWindow: ReceiveWindow;
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private pendingEnd: Uint8Array | null | undefined = undefined;
  private wantsWritable = false;
  private localEnded = false;
  private remoteEnded = false;
  private closed = false;
  /** Credit lent to the peer at opening that is not settled yet (see `lend`). */
  private loan = 0;

  constructor(
    readonly id: number,
    private readonly transport: StreamTransport,
    initialWindow: number,
    maxWindow: number,
  ) {
    this.sendWindow = initialWindow;
    this.recvWindow = new ReceiveWindow(initialWindow, maxWindow, performance.now());
  }

  get isClosed(): boolean {
    return this.closed;
  }

  get receiveWindowSize(): number {
    return this.recvWindow.size;
  }

  sendHead(payload: Uint8Array, endStream: boolean, flags = 0): void {
    if (this.closed || this.localEnded) return;
    this.transport.sendFrame(FrameType.Head, endStream ? flags | FLAG_END_STREAM : flags, this.id, payload);
    if (endStream) this.finishLocal();
  }

  /**
   * Queues body bytes. Returns false when the caller should stop writing until `onWritable`:
   * the stream's credit is used up or the connection is congested. Bytes are never dropped.
   */
  write(chunk: Buffer): boolean {
    if (this.closed || this.localEnded || this.pendingEnd !== undefined) return false;
    if (chunk.length === 0) return true;
    if (this.queuedBytes === 0 && !this.transport.congested) {
      chunk = this.sendAllowed(chunk);
      if (chunk.length === 0) return true;
    }
    this.queue.push(chunk);
    this.queuedBytes += chunk.length;
    this.wantsWritable = true;
    return false;
  }

  /** Ends the sending half once queued bytes are out; `trailers` is an encoded Trailers message. */
  end(trailers?: Uint8Array): void {
    if (this.closed || this.localEnded || this.pendingEnd !== undefined) return;
    if (this.queuedBytes > 0) {
      this.pendingEnd = trailers ?? null;
      return;
    }
    this.transport.sendFrame(FrameType.End, 0, this.id, trailers);
    this.finishLocal();
  }

  /** Aborts both halves and tells the peer why. */
  reset(code: ErrorCode, message: string): void {
    if (this.closed) return;
    this.transport.sendFrame(FrameType.Reset, 0, this.id, encodeReset(code, message));
    this.close();
  }

  /** Returns credit for `n` body bytes that have left the consumer's buffers. */
  consumed(n: number): void {
    if (this.closed || this.remoteEnded) return;
    const credit = this.recvWindow.consume(n, performance.now(), this.transport.rttMs);
    if (credit > 0) this.transport.sendFrame(FrameType.Window, 0, this.id, u32(credit));
    if (this.loan > 0 && !this.recvWindow.lending) this.settleLoan();
  }

  /**
   * @internal Gives the peer `bytes` of credit beyond the initial window at once (the connection
   * decides when, within its budget). The window settles it (see `ReceiveWindow.lend`), or the
   * peer's end of the stream, or its close. `announce` false: the peer has the credit already
   * (it took a loan this side offered before the stream was opened).
   */
  lend(bytes: number, announce = true): void {
    if (this.closed || this.remoteEnded || bytes <= 0) return;
    this.recvWindow.lend(bytes);
    this.loan += bytes;
    if (announce) this.transport.sendFrame(FrameType.Window, 0, this.id, u32(bytes));
  }

  /** @internal Credit the peer gave before this stream existed (a loan it offered, now taken). */
  addSendCredit(bytes: number): void {
    this.sendWindow += bytes;
  }

  // ---- called by the connection -------------------------------------------------------------

  /** @internal */
  receiveHead(payload: Buffer, flags: number): void {
    if (this.closed) return;
    const end = (flags & FLAG_END_STREAM) !== 0;
    this.handler.onHead?.(payload, end);
    if (end) this.finishRemote(undefined);
  }

  /** @internal Returns false when the peer overran its credit. */
  receiveData(chunk: Buffer, flags: number): boolean {
    if (this.closed) return true;
    const window = this.recvWindow;
    if (!window.receive(chunk.length, window.awaitsFirstByte ? performance.now() : 0)) return false;
    if (chunk.length > 0) this.handler.onData?.(chunk);
    if ((flags & FLAG_END_STREAM) !== 0) this.finishRemote(undefined);
    return true;
  }

  /** @internal */
  receiveEnd(trailers: Buffer): void {
    if (this.closed) return;
    this.finishRemote(trailers.length > 0 ? trailers : undefined);
  }

  /** @internal */
  receiveWindow(increment: number): void {
    if (this.closed) return;
    this.sendWindow += increment;
    this.flush();
  }

  /** @internal The connection can take more bytes again. */
  flush(): void {
    while (this.queue.length > 0 && this.sendWindow > 0 && !this.transport.congested) {
      const head = this.queue[0]!;
      const rest = this.sendAllowed(head);
      this.queuedBytes -= head.length - rest.length;
      if (rest.length === 0) this.queue.shift();
      else this.queue[0] = rest;
    }
    if (this.queuedBytes > 0) return;
    if (this.pendingEnd !== undefined) {
      const trailers = this.pendingEnd ?? undefined;
      this.pendingEnd = undefined;
      this.transport.sendFrame(FrameType.End, 0, this.id, trailers);
      this.finishLocal();
      return;
    }
    if (this.wantsWritable && !this.transport.congested) {
      this.wantsWritable = false;
      this.handler.onWritable?.();
    }
  }

  /** @internal The peer reset the stream or the connection died. */
  abort(code: ErrorCode, message: string): void {
    if (this.closed) return;
    this.close();
    this.handler.onReset?.(code, message);
  }

  /** Sends as much of `chunk` as the window allows and returns the rest. */
  private sendAllowed(chunk: Buffer): Buffer {
    while (chunk.length > 0 && this.sendWindow > 0 && !this.transport.congested) {
      const n = Math.min(chunk.length, this.sendWindow, MAX_DATA_CHUNK);
      const piece = n === chunk.length ? chunk : chunk.subarray(0, n);
      this.transport.sendData(this.id, 0, piece);
      this.sendWindow -= n;
      chunk = chunk.subarray(n);
    }
    return chunk;
  }

  private finishLocal(): void {
    this.localEnded = true;
    this.queue = [];
    this.queuedBytes = 0;
    if (this.remoteEnded) this.close();
  }

  private settleLoan(): void {
    const bytes = this.loan;
    this.loan = 0;
    this.transport.loanSettled(bytes);
  }

  private finishRemote(trailers: Buffer | undefined): void {
    if (this.remoteEnded) return;
    this.remoteEnded = true;
    // Nothing more will arrive: whatever was lent can no longer be used.
    if (this.loan > 0) this.settleLoan();
    this.handler.onEnd?.(trailers);
    if (this.localEnded) this.close();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.queuedBytes = 0;
    if (this.loan > 0) this.settleLoan();
    this.transport.streamClosed(this);
  }
}

function u32(value: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(value, 0);
  return b;
}

export function encodeReset(code: ErrorCode, message: string): Uint8Array {
  return toBinary(StreamResetSchema, create(StreamResetSchema, { code, message }));
}
