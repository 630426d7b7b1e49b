import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { RequestHeadSchema, ResponseHeadSchema, TrailersSchema } from "@onramp/proto";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeRequestHead, decodeResponseHead, decodeTrailers, encodeRequestHead, encodeResponseHead, encodeTrailers } from "./head-codec.js";

/** Well-formed strings: every code point, astral ones included (lone surrogates cannot round-trip through UTF-8). */
const text = fc.oneof(fc.string({ unit: "binary", maxLength: 40 }), fc.string({ maxLength: 40 }));
const headerList = fc.array(fc.tuple(text, text), { maxLength: 8 }).map((pairs) => pairs.flat());
const body = fc.uint8Array({ maxLength: 200 });

const requestHead = fc.record({
  method: text,
  path: text,
  headers: headerList,
  endpointId: text,
  clientAddr: text,
  upgrade: fc.boolean(),
  body,
  traceparent: text,
  requestId: text,
  bindId: text,
});

const responseHead = fc.record({ status: fc.integer({ min: 0, max: 2 ** 32 - 1 }), statusText: text, headers: headerList, body });

/** A body compared by value, whatever view type it came back as. */
const plain = <T extends { body: Uint8Array }>(h: T) => ({ ...h, body: [...h.body] });

/** A decoded message as plain data: no `$typeName`/`$unknown`, bodies as arrays. */
function normalized(value: unknown): unknown {
  if (Array.isArray(value) || typeof value === "string") return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (k.startsWith("$")) continue;
    out[k] = v instanceof Uint8Array ? [...v] : v;
  }
  return out;
}

/** Random bytes, or an encoded head with bytes flipped, cut, or inserted. */
function mutated(valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  const edit = fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true }), kind: fc.constantFrom("flip", "cut", "insert"), bytes: fc.uint8Array({ minLength: 1, maxLength: 6 }) });
  return fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    fc.tuple(valid, fc.array(edit, { minLength: 1, maxLength: 4 })).map(([bytes, edits]) => {
      let b = Buffer.from(bytes);
      for (const e of edits) {
        const i = Math.floor(e.at * b.length);
        if (e.kind === "cut") b = b.subarray(0, i);
        else if (e.kind === "insert") b = Buffer.concat([b.subarray(0, i), e.bytes, b.subarray(i)]);
        else if (b.length > 0) {
          const j = Math.min(i, b.length - 1);
          b[j] = b[j]! ^ (e.bytes[0]! || 1);
        }
      }
      return b;
    }),
  );
}

/** A length-delimited field whose forged length (up to 2^63) runs past the input. */
const forgedLength = fc
  .record({ field: fc.integer({ min: 1, max: 15 }), length: fc.bigInt({ min: 1n, max: 2n ** 63n - 1n }), tail: fc.uint8Array({ maxLength: 20 }) })
  .filter(({ length, tail }) => length > BigInt(tail.length))
  .map(({ field, length, tail }) => {
    const out = [(field << 3) | 2];
    let v = length;
    while (v > 0x7fn) {
      out.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    out.push(Number(v));
    return Buffer.concat([Buffer.from(out), tail]);
  });

describe("head codec round-trips (property)", () => {
  it("decodes every RequestHead it encodes, and encodes byte for byte as protobuf-es", () => {
    fc.assert(
      fc.property(requestHead, (h) => {
        const ours = encodeRequestHead(h);
        expect(Buffer.from(ours).equals(Buffer.from(toBinary(RequestHeadSchema, create(RequestHeadSchema, h))))).toBe(true);
        expect(plain(decodeRequestHead(ours))).toEqual(plain(h));
      }),
      { numRuns: 500 },
    );
  });

  it("decodes every ResponseHead and Trailers it encodes, and encodes as protobuf-es", () => {
    fc.assert(
      fc.property(responseHead, headerList, (h, trailers) => {
        const ours = encodeResponseHead(h);
        expect(Buffer.from(ours).equals(Buffer.from(toBinary(ResponseHeadSchema, create(ResponseHeadSchema, h))))).toBe(true);
        expect(plain(decodeResponseHead(ours))).toEqual(plain(h));
        const t = encodeTrailers(trailers);
        expect(Buffer.from(t).equals(Buffer.from(toBinary(TrailersSchema, create(TrailersSchema, { headers: trailers }))))).toBe(true);
        expect(decodeTrailers(t)).toEqual(trailers);
      }),
      { numRuns: 500 },
    );
  });

  it("encodes strings with lone surrogates as protobuf-es does (U+FFFD)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 20 }), fc.array(fc.constantFrom("\ud800", "\udfff", "a"), { maxLength: 6 }), (s, extra) => {
        const path = s + extra.join("");
        const h = { method: "GET", path, headers: [path, path] };
        expect(Buffer.from(encodeRequestHead(h)).equals(Buffer.from(toBinary(RequestHeadSchema, create(RequestHeadSchema, h))))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});

describe("head codec on hostile bytes (property)", () => {
  const decoders = [
    ["RequestHead", decodeRequestHead, RequestHeadSchema, 11],
    ["ResponseHead", decodeResponseHead, ResponseHeadSchema, 5],
    ["Trailers", decodeTrailers, TrailersSchema, 2],
  ] as const;
  const anyValid = fc.oneof(requestHead.map(encodeRequestHead), responseHead.map(encodeResponseHead), headerList.map(encodeTrailers));

  for (const [name, decode, schema, firstUnknown] of decoders) {
    it(`${name}: returns a value or throws a RangeError on random and mutated bytes`, () => {
      fc.assert(
        fc.property(mutated(anyValid), (bytes) => {
          try {
            decode(bytes);
          } catch (err) {
            expect(err).toBeInstanceOf(RangeError);
          }
        }),
        { numRuns: 1000 },
      );
    });

    it(`${name}: agrees with protobuf-es on valid messages with unknown fields, cut anywhere`, () => {
      const unknownField = fc
        .record({ field: fc.integer({ min: firstUnknown, max: 15 }), wire: fc.constantFrom(0, 1, 2, 5), value: fc.uint8Array({ maxLength: 12 }), n: fc.nat() })
        .map(({ field, wire, value, n }) => {
          const tag = (field << 3) | wire;
          if (wire === 0) return Buffer.from([tag, 0x80 | (n & 0x7f), (n >> 7) & 0x7f]);
          if (wire === 1) return Buffer.concat([Buffer.from([tag]), Buffer.alloc(8, n & 0xff)]);
          if (wire === 5) return Buffer.concat([Buffer.from([tag]), Buffer.alloc(4, n & 0xff)]);
          return Buffer.concat([Buffer.from([tag, value.length]), value]);
        });
      const valid = name === "RequestHead" ? requestHead.map(encodeRequestHead) : name === "ResponseHead" ? responseHead.map(encodeResponseHead) : headerList.map(encodeTrailers);
      fc.assert(
        fc.property(fc.array(fc.oneof(valid, unknownField), { minLength: 1, maxLength: 4 }), fc.double({ min: 0, max: 1, noNaN: true }), (parts, at) => {
          const whole = Buffer.concat(parts);
          const bytes = whole.subarray(0, Math.ceil(at * whole.length));
          let ours: unknown;
          let theirs: unknown;
          try {
            ours = decode(bytes);
          } catch {
            ours = "refused";
          }
          try {
            const m = fromBinary(schema, bytes);
            theirs = name === "Trailers" ? (m as { headers: string[] }).headers : m;
          } catch {
            theirs = "refused";
          }
          expect(normalized(ours)).toEqual(normalized(theirs));
        }),
        { numRuns: 500 },
      );
    });

    it(`${name}: refuses a forged length over the input without allocating it`, () => {
      fc.assert(
        fc.property(forgedLength, (bytes) => {
          expect(() => decode(bytes)).toThrow(RangeError);
        }),
        { numRuns: 300 },
      );
    });
  }
});
