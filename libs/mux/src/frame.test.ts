import { describe, expect, it } from "vitest";
import { encodeFrame, FrameDecoder, FrameType } from "./frame.js";

type Seen = [number, number, number, string];

function decodeAll(input: Buffer, cut: (i: number) => number): Seen[] {
  const seen: Seen[] = [];
  const decoder = new FrameDecoder((type, flags, id, payload) => seen.push([type, flags, id, payload.toString()]));
  for (let offset = 0, i = 0; offset < input.length; i++) {
    const n = Math.max(1, cut(i));
    decoder.push(input.subarray(offset, offset + n));
    offset += n;
  }
  return seen;
}

describe("FrameDecoder", () => {
  const frames = [
    encodeFrame(FrameType.Head, 1, 7, Buffer.from("head")),
    encodeFrame(FrameType.Data, 0, 7, Buffer.alloc(70_000, "x")),
    encodeFrame(FrameType.End, 0, 7),
    encodeFrame(FrameType.Ping, 0, 0, Buffer.from("12345678")),
  ];
  const wire = Buffer.concat(frames);
  const expected: Seen[] = [
    [FrameType.Head, 1, 7, "head"],
    [FrameType.Data, 0, 7, "x".repeat(70_000)],
    [FrameType.End, 0, 7, ""],
    [FrameType.Ping, 0, 0, "12345678"],
  ];

  it("with streamData, hands a DATA payload on as slices of the chunks it came in, without joining them", () => {
    const payload = Buffer.alloc(70_000, "x");
    const data = encodeFrame(FrameType.Data, 1, 9, payload);
    const parts: { flags: number; chunk: Buffer }[] = [];
    const decoder = new FrameDecoder((type, flags, _id, chunk) => type === FrameType.Data && parts.push({ flags, chunk }), undefined, true);
    const first = data.subarray(0, 30_000);
    const second = data.subarray(30_000);
    decoder.push(first);
    decoder.push(second);
    expect(parts.map((p) => [p.flags, p.chunk.length])).toEqual([
      [0, 30_000 - 10],
      [1, 40_010],
    ]);
    // Views of the pushed chunks, not copies.
    expect(parts[0]!.chunk.buffer).toBe(first.buffer);
    expect(parts[1]!.chunk.buffer).toBe(second.buffer);
  });

  it.each([
    ["whole", () => wire.length],
    ["one byte at a time", () => 1],
    ["TCP-like segments", () => 1448],
    ["odd sizes", (i: number) => (i * 7919) % 5000],
  ])("reassembles frames delivered %s", (_name, cut) => {
    expect(decodeAll(wire, cut)).toEqual(expected);
  });

  it("rejects a frame larger than the limit instead of buffering it", () => {
    const decoder = new FrameDecoder(() => {}, 1024);
    const big = encodeFrame(FrameType.Head, 0, 1, Buffer.alloc(2048));
    expect(() => decoder.push(big.subarray(0, 12))).toThrow(/exceeds the 1024-byte limit/);
    const split = new FrameDecoder(() => {}, 1024);
    split.push(big.subarray(0, 3));
    expect(() => split.push(big.subarray(3, 20))).toThrow(/exceeds/);
  });

  it("applies a limit raised from onFrame to the next frame of the same chunk", () => {
    const seen: number[] = [];
    const decoder: FrameDecoder = new FrameDecoder((type, _flags, _id, payload) => {
      seen.push(payload.length);
      if (type === FrameType.Hello) decoder.maxPayload = 4096;
    }, 16);
    decoder.push(Buffer.concat([encodeFrame(FrameType.Hello, 0, 0, Buffer.alloc(16)), encodeFrame(FrameType.Head, 0, 1, Buffer.alloc(4096))]));
    expect(seen).toEqual([16, 4096]);
  });
});
