import { ErrorCode, OnrampError } from "@onramp/errors";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FLAG_END_STREAM, FRAME_HEADER_SIZE, FrameDecoder, FrameType, encodeFrame } from "./frame.js";

interface Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: number[];
}

/** Splits `bytes` at the given cut points (fractions of its length), in order. */
function chunked(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => Math.floor(c * bytes.length)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let start = 0;
  for (const p of points) {
    out.push(bytes.subarray(start, p));
    start = p;
  }
  out.push(bytes.subarray(start));
  return out;
}

/** What the decoder holds between pushes; private, read here to bound its memory. */
function bufferedOf(decoder: FrameDecoder): number {
  return (decoder as unknown as { buffered: number }).buffered;
}

const cuts = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 });

/** Frames with a length field small enough that random streams often hold whole frames. */
const smallLengthFrame = fc
  .record({ length: fc.nat({ max: 80 }), rest: fc.uint8Array({ minLength: 6, maxLength: 6 }), payload: fc.uint8Array({ maxLength: 80 }) })
  .map(({ length, rest, payload }) => {
    const b = Buffer.alloc(4 + 6 + payload.length);
    b.writeUInt32BE(length, 0);
    b.set(rest, 4);
    b.set(payload, 10);
    return b;
  });

/** Plain random bytes, or a run of random frames whose length fields are mostly small. */
const stream = fc.oneof(
  fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b)),
  fc.array(smallLengthFrame, { maxLength: 8 }).map((parts) => Buffer.concat(parts)),
);

describe("FrameDecoder on hostile input (property)", () => {
  it("throws nothing but a PROTOCOL_ERROR OnrampError and never holds more than one frame's bytes", () => {
    fc.assert(
      fc.property(stream, cuts, fc.integer({ min: 0, max: 100 }), (bytes, at, maxPayload) => {
        const decoder = new FrameDecoder(() => {}, maxPayload);
        try {
          for (const chunk of chunked(bytes, at)) {
            decoder.push(chunk);
            expect(bufferedOf(decoder)).toBeLessThan(FRAME_HEADER_SIZE + maxPayload);
          }
        } catch (err) {
          expect(err).toBeInstanceOf(OnrampError);
          expect((err as OnrampError).code).toBe(ErrorCode.ProtocolError);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it("refuses a header announcing more than maxPayload before any of its payload arrives", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1 << 20 }), fc.integer({ min: 1, max: 2 ** 32 - 1 }), cuts, (max, over, at) => {
        const length = Math.min(2 ** 32 - 1, max + over);
        const header = Buffer.alloc(FRAME_HEADER_SIZE);
        header.writeUInt32BE(length, 0);
        const decoder = new FrameDecoder(() => {}, max);
        expect(() => {
          for (const chunk of chunked(header, at)) decoder.push(chunk);
        }).toThrow(OnrampError);
        expect(bufferedOf(decoder)).toBeLessThanOrEqual(FRAME_HEADER_SIZE);
      }),
      { numRuns: 300 },
    );
  });

  it("decodes valid frames fed in any chunking to the frames that were encoded", () => {
    const frame = fc.record({
      type: fc.integer({ min: 0, max: 255 }),
      flags: fc.integer({ min: 0, max: 255 }),
      streamId: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
      payload: fc.oneof(
        { weight: 4, arbitrary: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 64 }) },
        { weight: 1, arbitrary: fc.integer({ min: 65, max: 5000 }).map((n) => Array.from({ length: n }, (_, i) => i & 0xff)) },
      ),
    });
    fc.assert(
      fc.property(fc.array(frame, { maxLength: 12 }), cuts, (frames: Frame[], at) => {
        const wire = Buffer.concat(frames.map((f) => encodeFrame(f.type as FrameType, f.flags, f.streamId, Uint8Array.from(f.payload))));
        const seen: Frame[] = [];
        const decoder = new FrameDecoder((type, flags, streamId, payload) => seen.push({ type, flags, streamId, payload: [...payload] }), 5000);
        for (const chunk of chunked(wire, at)) decoder.push(chunk);
        expect(seen).toEqual(frames);
        expect(bufferedOf(decoder)).toBe(0);
      }),
      { numRuns: 500 },
    );
  });

  it("with streamData, hands DATA payloads on in parts that join to the payload, END_STREAM on the last part only, and other frames whole", () => {
    const frame = fc.record({
      type: fc.constantFrom(FrameType.Head, FrameType.Data, FrameType.Data, FrameType.End, FrameType.Window),
      flags: fc.constantFrom(0, FLAG_END_STREAM),
      streamId: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
      payload: fc.oneof(
        { weight: 2, arbitrary: fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 64 }) },
        { weight: 1, arbitrary: fc.integer({ min: 65, max: 5000 }).map((n) => Array.from({ length: n }, (_, i) => i & 0xff)) },
      ),
    });
    fc.assert(
      fc.property(fc.array(frame, { maxLength: 12 }), cuts, (frames: Frame[], at) => {
        const wire = Buffer.concat(frames.map((f) => encodeFrame(f.type as FrameType, f.flags, f.streamId, Uint8Array.from(f.payload))));
        const chunks = chunked(wire, at);
        const seen: Frame[] = [];
        let parts = 0;
        let inData = false;
        const decoder = new FrameDecoder(
          (type, flags, streamId, payload) => {
            // Never a copy: every part is a view of the chunk it came in (or of a header's join).
            if (type === FrameType.Data) parts++;
            const last = seen.at(-1);
            if (type === FrameType.Data && inData && last) {
              expect(streamId).toBe(last.streamId);
              last.payload.push(...payload);
              last.flags = flags;
            } else {
              seen.push({ type, flags, streamId, payload: [...payload] });
            }
            inData = type === FrameType.Data && (decoder as unknown as { dataLeft: number }).dataLeft > 0;
            if (inData) expect(flags & FLAG_END_STREAM).toBe(0);
          },
          5000,
          true,
        );
        for (const chunk of chunks) decoder.push(chunk);
        expect(seen).toEqual(frames);
        expect(bufferedOf(decoder)).toBe(0);
        expect(parts).toBeGreaterThanOrEqual(frames.filter((f) => f.type === FrameType.Data && f.payload.length > 0).length);
      }),
      { numRuns: 500 },
    );
  });
});
