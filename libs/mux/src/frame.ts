import { ErrorCode, OnrampError } from "@onramp/errors";

/**
 * Frame layout on a data connection (see proto/onramp/v1/data.proto):
 *   u32 payload length | u8 type | u8 flags | u32 stream id | payload
 */
export const FRAME_HEADER_SIZE = 10;

/** First bytes of every data connection, so one port can tell data from gRPC (HTTP/2). */
export const DATA_MAGIC = Buffer.from("ONRAMPD1", "latin1");
/** First bytes of an edge-to-edge relay connection; the same framing follows. */
export const RELAY_MAGIC = Buffer.from("ONRAMPR1", "latin1");

export const FrameType = {
  Hello: 1,
  Head: 2,
  Data: 3,
  End: 4,
  Reset: 5,
  Window: 6,
  Ping: 7,
  Pong: 8,
  GoAway: 9,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

/** "PING" for 7, for messages about a peer's frames. */
export function frameTypeName(type: number): string {
  const name = Object.entries(FrameType).find(([, value]) => value === type)?.[0];
  return name ? name.toUpperCase() : `type-${type}`;
}

export const FLAG_END_STREAM = 0x1;
/**
 * On a HEAD: the stream takes the credit the receiving side offered for the next stream with a
 * body (a WINDOW frame on stream 0, see `MuxOptions.streamLoan`). Only sent to a peer that
 * made such an offer, so peers that know nothing of it never see the flag.
 */
export const FLAG_TAKES_LOAN = 0x2;

/**
 * 64 KiB: large enough that per-frame overhead is noise, small enough that one body cannot
 * hold the connection for long and that a frame fits the socket's default buffer.
 */
export const MAX_DATA_CHUNK = 64 * 1024;

/**
 * 1 MiB: heads carry headers plus a small inline body (16 KiB by default); anything larger is a
 * broken peer. The default of `MuxOptions.maxFrameBytes`.
 */
export const MAX_FRAME_PAYLOAD = 1024 * 1024;

export function encodeHeader(type: FrameType, flags: number, streamId: number, length: number): Buffer {
  const header = Buffer.allocUnsafe(FRAME_HEADER_SIZE);
  header.writeUInt32BE(length, 0);
  header[4] = type;
  header[5] = flags;
  header.writeUInt32BE(streamId, 6);
  return header;
}

/** A whole frame in one buffer; used for small frames, where one copy beats two writes. */
export function encodeFrame(type: FrameType, flags: number, streamId: number, payload?: Uint8Array): Buffer {
  const length = payload?.byteLength ?? 0;
  const frame = Buffer.allocUnsafe(FRAME_HEADER_SIZE + length);
  frame.writeUInt32BE(length, 0);
  frame[4] = type;
  frame[5] = flags;
  frame.writeUInt32BE(streamId, 6);
  if (payload && length > 0) frame.set(payload, FRAME_HEADER_SIZE);
  return frame;
}

export function encodeU32(value: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(value, 0);
  return b;
}

export type FrameHandler = (type: number, flags: number, streamId: number, payload: Buffer) => void;

/**
 * Incremental frame parser. Chunks are kept in a list and joined only once a whole frame is
 * present, so a 64 KiB frame arriving in many TCP segments is copied once, not once per segment.
 * Payloads of frames that arrive whole in one chunk are zero-copy slices of it.
 *
 * With `streamData`, DATA frames are not joined at all: each part of a DATA payload is handed on
 * as it arrives, a slice of the chunk it came in, with END_STREAM only on the last part. Body
 * bytes are a byte stream to their reader, and joining cost a copy of nearly every frame of a
 * large body (64 KiB frames rarely line up with socket reads): a fifth of the edge's CPU in a
 * download.
 */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Bytes of the frame at the head of `chunks` once its header is known, else -1. */
  private needed = -1;
  /** Bytes of a DATA payload still to come, handed on as they arrive (`streamData`). */
  private dataLeft = 0;
  private dataFlags = 0;
  private dataStreamId = 0;

  constructor(
    private readonly onFrame: FrameHandler,
    /**
     * Largest payload a frame may announce. Checked as soon as a header is complete, so a frame
     * over it is refused before any of its payload is buffered. May be raised between frames
     * (from `onFrame`: it applies from the next header on), as a connection does once its peer
     * is authenticated.
     */
    public maxPayload = MAX_FRAME_PAYLOAD,
    private readonly streamData = false,
  ) {}

  /** Throws a PROTOCOL_ERROR `OnrampError` when a frame announces a payload over `maxPayload`. */
  push(chunk: Buffer): void {
    if (this.dataLeft > 0) {
      chunk = this.continueData(chunk);
      if (chunk.length === 0) return;
    }
    if (this.buffered === 0) {
      this.keep(this.parse(chunk));
      return;
    }
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    if (this.needed < 0) {
      if (this.buffered < FRAME_HEADER_SIZE) return;
      const head = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
      this.chunks = [head];
      this.needed = FRAME_HEADER_SIZE + this.checkLength(head.readUInt32BE(0));
    }
    // A DATA frame whose header came in pieces: parse streams what is here of its payload.
    const streams = this.streamData && this.chunks[0]![4] === FrameType.Data;
    if (this.buffered < this.needed && !streams) return;
    const joined = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.buffered);
    this.chunks = [];
    this.buffered = 0;
    this.needed = -1;
    this.keep(this.parse(joined));
  }

  private keep(rest: Buffer): void {
    if (rest.length === 0) return;
    this.chunks.push(rest);
    this.buffered = rest.length;
    if (rest.length >= FRAME_HEADER_SIZE) this.needed = FRAME_HEADER_SIZE + this.checkLength(rest.readUInt32BE(0));
  }

  private checkLength(length: number): number {
    if (length > this.maxPayload) {
      throw new OnrampError(ErrorCode.ProtocolError, `frame payload of ${length} bytes exceeds the ${this.maxPayload}-byte limit`);
    }
    return length;
  }

  /** Hands on the next part of the DATA payload in progress; returns what follows it in `chunk`. */
  private continueData(chunk: Buffer): Buffer {
    const n = Math.min(this.dataLeft, chunk.length);
    this.dataLeft -= n;
    const flags = this.dataLeft === 0 ? this.dataFlags : this.dataFlags & ~FLAG_END_STREAM;
    this.onFrame(FrameType.Data, flags, this.dataStreamId, n === chunk.length ? chunk : chunk.subarray(0, n));
    return n === chunk.length ? EMPTY : chunk.subarray(n);
  }

  /** Emits every whole frame in `buf` (and, with `streamData`, the start of a DATA frame) and returns the unparsed tail. */
  private parse(buf: Buffer): Buffer {
    let offset = 0;
    while (buf.length - offset >= FRAME_HEADER_SIZE) {
      const length = this.checkLength(buf.readUInt32BE(offset));
      const end = offset + FRAME_HEADER_SIZE + length;
      const type = buf[offset + 4]!;
      const flags = buf[offset + 5]!;
      const streamId = buf.readUInt32BE(offset + 6);
      if (end > buf.length) {
        if (!this.streamData || type !== FrameType.Data) break;
        this.dataLeft = end - buf.length;
        this.dataFlags = flags;
        this.dataStreamId = streamId;
        if (buf.length > offset + FRAME_HEADER_SIZE) this.onFrame(type, flags & ~FLAG_END_STREAM, streamId, buf.subarray(offset + FRAME_HEADER_SIZE));
        return EMPTY;
      }
      this.onFrame(type, flags, streamId, buf.subarray(offset + FRAME_HEADER_SIZE, end));
      offset = end;
    }
    return offset === buf.length ? EMPTY : buf.subarray(offset);
  }
}

const EMPTY = Buffer.alloc(0);
