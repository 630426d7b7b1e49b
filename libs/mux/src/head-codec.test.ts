import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { RequestHeadSchema, ResponseHeadSchema, TrailersSchema } from "@onramp/proto";
import { describe, expect, it } from "vitest";
import { decodeRequestHead, decodeResponseHead, decodeTrailers, encodeRequestHead, encodeResponseHead, encodeTrailers } from "./head-codec.js";

const request = {
  method: "POST",
  path: "/söme/päth?q=✓",
  headers: ["Host", "a.example.com", "X-Empty", "", "Cookie", "a=1; b=2"],
  endpointId: "ep_1",
  clientAddr: "127.0.0.1:5555",
  upgrade: true,
  body: new Uint8Array([0, 1, 2, 255]),
  traceparent: "00-abc-def-01",
  requestId: "req-1",
  bindId: "bind_9",
};

describe("head codec matches protobuf-es byte for byte", () => {
  it("encodes a RequestHead as protobuf-es does, and decodes what it encodes", () => {
    const ours = encodeRequestHead(request);
    const theirs = toBinary(RequestHeadSchema, create(RequestHeadSchema, request));
    expect(Buffer.from(ours).equals(Buffer.from(theirs))).toBe(true);
    const back = decodeRequestHead(theirs);
    expect({ ...back, body: [...back.body] }).toEqual({ ...request, body: [...request.body] });
    expect(fromBinary(RequestHeadSchema, ours).headers).toEqual(request.headers);
  });

  it("matches protobuf-es for long, multi-byte and very large heads, one after another", () => {
    // Around the one-byte length prefix (127/128 bytes), ASCII written byte by byte and text that
    // turns out not to be ASCII part way, multi-byte text whose byte length is unknown until
    // written (up to and past the two-byte-length gap, 3n < 2^14), and a head larger than the
    // encoder's 16 KiB scratch.
    const values = [
      "a".repeat(42), "a".repeat(43), "a".repeat(127), "a".repeat(128), `${"a".repeat(100)}é`, "é".repeat(63), "é".repeat(64),
      "✓".repeat(43), "😀".repeat(40), "é".repeat(5461), "é".repeat(5462), "x".repeat(200_000),
    ];
    for (const v of values) {
      const head = { ...request, path: `/${v}`, headers: ["X-Long", v, "Host", "h"] };
      const ours = encodeRequestHead(head);
      expect(Buffer.from(ours).equals(Buffer.from(toBinary(RequestHeadSchema, create(RequestHeadSchema, head))))).toBe(true);
    }
    // After growing, small heads still come out exact (the scratch is reused, the result is not).
    const small = encodeRequestHead(request);
    const again = encodeRequestHead({ ...request, method: "GET" });
    expect(decodeRequestHead(small).method).toBe("POST");
    expect(decodeRequestHead(again).method).toBe("GET");
  });

  it("encodes defaults as nothing, like proto3", () => {
    expect(encodeRequestHead({ method: "", upgrade: false }).length).toBe(0);
    expect(decodeRequestHead(new Uint8Array(0)).method).toBe("");
  });

  it("round-trips ResponseHead and Trailers with protobuf-es", () => {
    const response = { status: 503, statusText: "Service Unavailable", headers: ["Retry-After", "5"], body: new Uint8Array([7]) };
    const ours = encodeResponseHead(response);
    expect(Buffer.from(ours).equals(Buffer.from(toBinary(ResponseHeadSchema, create(ResponseHeadSchema, response))))).toBe(true);
    expect(decodeResponseHead(ours).status).toBe(503);
    const trailers = encodeTrailers(["x-checksum", "abc"]);
    expect(fromBinary(TrailersSchema, trailers).headers).toEqual(["x-checksum", "abc"]);
    expect(decodeTrailers(toBinary(TrailersSchema, create(TrailersSchema, { headers: ["a", "b"] })))).toEqual(["a", "b"]);
  });

  it("skips fields it does not know, so newer peers can add some", () => {
    // Field 15 as a varint, field 16 as bytes (its tag is the two-byte varint 0x82 0x01), then field 1.
    const extra = Buffer.from([15 << 3, 0x96, 0x01, 0x82, 0x01, 2, 0xaa, 0xbb, (1 << 3) | 2, 3, 0x47, 0x45, 0x54]);
    expect(decodeRequestHead(extra).method).toBe("GET");
  });

  it("rejects truncated input instead of reading past it", () => {
    const bytes = encodeRequestHead({ method: "GET", path: "/long/path" });
    expect(() => decodeRequestHead(bytes.subarray(0, bytes.length - 3))).toThrow(RangeError);
  });
});
