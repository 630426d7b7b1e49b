/**
 * Hand-written protobuf codec for the messages on the request path (RequestHead, ResponseHead,
 * Trailers in proto/onramp/v1/data.proto). The bytes are exactly what protobuf-es produces, so
 * data.proto stays the contract; this exists because reflective encoding cost ~9 µs per head,
 * about a tenth of the edge's CPU per request. head-codec.test.ts checks both directions against
 * protobuf-es. Unknown fields are skipped, so newer peers can add fields.
 */

export interface RequestHeadFields {
  method: string;
  path: string;
  /** Names and values alternating. */
  headers: string[];
  endpointId: string;
  clientAddr: string;
  upgrade: boolean;
  body: Uint8Array;
  traceparent: string;
  requestId: string;
  bindId: string;
}

export interface ResponseHeadFields {
  status: number;
  statusText: string;
  headers: string[];
  body: Uint8Array;
}

const EMPTY = new Uint8Array(0);

export function encodeRequestHead(h: Partial<RequestHeadFields>): Uint8Array {
  const w = new Writer();
  w.string(1, h.method);
  w.string(2, h.path);
  if (h.headers) for (const v of h.headers) w.string(3, v, true);
  w.string(4, h.endpointId);
  w.string(5, h.clientAddr);
  if (h.upgrade) w.varintField(6, 1);
  w.bytes(7, h.body);
  w.string(8, h.traceparent);
  w.string(9, h.requestId);
  w.string(10, h.bindId);
  return w.finish();
}

export function decodeRequestHead(bytes: Uint8Array): RequestHeadFields {
  const h: RequestHeadFields = { method: "", path: "", headers: [], endpointId: "", clientAddr: "", upgrade: false, body: EMPTY, traceparent: "", requestId: "", bindId: "" };
  const r = new Reader(bytes);
  while (r.more()) {
    const tag = r.varint();
    switch (tag) {
      case (1 << 3) | 2: h.method = r.string(); break;
      case (2 << 3) | 2: h.path = r.string(); break;
      case (3 << 3) | 2: h.headers.push(r.string()); break;
      case (4 << 3) | 2: h.endpointId = r.string(); break;
      case (5 << 3) | 2: h.clientAddr = r.string(); break;
      case (6 << 3) | 0: h.upgrade = r.varint() !== 0; break;
      case (7 << 3) | 2: h.body = r.bytes(); break;
      case (8 << 3) | 2: h.traceparent = r.string(); break;
      case (9 << 3) | 2: h.requestId = r.string(); break;
      case (10 << 3) | 2: h.bindId = r.string(); break;
      default: r.skip(tag & 7);
    }
  }
  return h;
}

export function encodeResponseHead(h: Partial<ResponseHeadFields>): Uint8Array {
  const w = new Writer();
  if (h.status) w.varintField(1, h.status);
  w.string(2, h.statusText);
  if (h.headers) for (const v of h.headers) w.string(3, v, true);
  w.bytes(4, h.body);
  return w.finish();
}

export function decodeResponseHead(bytes: Uint8Array): ResponseHeadFields {
  const h: ResponseHeadFields = { status: 0, statusText: "", headers: [], body: EMPTY };
  const r = new Reader(bytes);
  while (r.more()) {
    const tag = r.varint();
    switch (tag) {
      case (1 << 3) | 0: h.status = r.varint(); break;
      case (2 << 3) | 2: h.statusText = r.string(); break;
      case (3 << 3) | 2: h.headers.push(r.string()); break;
      case (4 << 3) | 2: h.body = r.bytes(); break;
      default: r.skip(tag & 7);
    }
  }
  return h;
}

export function encodeTrailers(headers: readonly string[]): Uint8Array {
  const w = new Writer();
  for (const v of headers) w.string(1, v, true);
  return w.finish();
}

export function decodeTrailers(bytes: Uint8Array): string[] {
  const out: string[] = [];
  const r = new Reader(bytes);
  while (r.more()) {
    const tag = r.varint();
    if (tag === ((1 << 3) | 2)) out.push(r.string());
    else r.skip(tag & 7);
  }
  return out;
}

/**
 * Writes fields straight into a scratch buffer shared by every encode (encoding never yields), then
 * copies the result out: one allocation per head, where collecting the fields first cost an array
 * and its growth per head. A head larger than the scratch grows it for the heads after.
 */
/**
 * Buffer's own UTF-8 methods, which `write` and `toString` call after checking their arguments
 * (per header, on every request); they are Buffer.prototype methods in every Node version.
 */
interface Utf8Buffer extends Buffer {
  utf8Write(value: string, offset: number): number;
  utf8Slice(start: number, end: number): string;
}

class Writer {
  private static scratch = Buffer.allocUnsafe(16 * 1024) as Utf8Buffer;
  private buf = Writer.scratch;
  private pos = 0;

  /** proto3 omits empty singular strings; repeated ones are always written. */
  string(field: number, value: string | undefined, repeated = false): void {
    if (value === undefined || (value.length === 0 && !repeated)) return;
    this.varint((field << 3) | 2);
    // A string of n UTF-16 units takes n to 3n bytes. Up to 3n < 2^14 the length takes one or two
    // bytes: the string is written after a two-byte gap, without measuring it first (a second pass
    // over a long header such as a JWT), and moved back a byte when its length fits in one.
    const max = value.length * 3;
    if (value.length < 0x80 && this.ascii(value)) return;
    if (max < 0x4000) {
      this.ensure(2 + max);
      const at = this.pos;
      const n = this.buf.utf8Write(value, at + 2);
      if (n < 0x80) {
        this.buf[at] = n;
        if (n > 0) this.buf.copyWithin(at + 1, at + 2, at + 2 + n);
        this.pos = at + 1 + n;
      } else {
        this.buf[at] = (n & 0x7f) | 0x80;
        this.buf[at + 1] = n >>> 7;
        this.pos = at + 2 + n;
      }
      return;
    }
    const n = Buffer.byteLength(value, "utf8");
    this.varint(n);
    this.ensure(n);
    this.pos += this.buf.utf8Write(value, this.pos);
  }

  /**
   * Writes a short string (< 128 units) byte by byte with its one-byte length when it is all ASCII,
   * as most header names and values are: cheaper than a call into C++ for a few bytes. False, with
   * nothing written, at the first other character.
   */
  private ascii(value: string): boolean {
    const n = value.length;
    this.ensure(1 + n);
    const buf = this.buf;
    const at = this.pos;
    for (let i = 0; i < n; i++) {
      const c = value.charCodeAt(i);
      if (c >= 0x80) return false;
      buf[at + 1 + i] = c;
    }
    buf[at] = n;
    this.pos = at + 1 + n;
    return true;
  }

  bytes(field: number, value: Uint8Array | undefined): void {
    if (!value || value.length === 0) return;
    this.varint((field << 3) | 2);
    this.varint(value.length);
    this.ensure(value.length);
    this.buf.set(value, this.pos);
    this.pos += value.length;
  }

  varintField(field: number, value: number): void {
    this.varint(field << 3);
    this.varint(value);
  }

  finish(): Uint8Array {
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    return out;
  }

  private varint(value: number): void {
    this.ensure(10);
    let v = value;
    while (v > 0x7f) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.pos++] = v;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n)) as Utf8Buffer;
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
    Writer.scratch = grown;
  }
}

class Reader {
  private pos = 0;
  private readonly buf: Utf8Buffer;

  constructor(bytes: Uint8Array) {
    this.buf = (Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)) as Utf8Buffer;
  }

  more(): boolean {
    return this.pos < this.buf.length;
  }

  varint(): number {
    let result = 0;
    let scale = 1;
    for (;;) {
      const b = this.buf[this.pos++];
      if (b === undefined) throw new RangeError("truncated varint");
      result += (b & 0x7f) * scale;
      if (b < 0x80) return result;
      scale *= 128;
      if (scale > 2 ** 63) throw new RangeError("varint too long");
    }
  }

  private span(): [number, number] {
    const n = this.varint();
    const start = this.pos;
    const end = start + n;
    if (end > this.buf.length) throw new RangeError("truncated field");
    this.pos = end;
    return [start, end];
  }

  string(): string {
    const n = this.varint();
    const start = this.pos;
    const end = start + n;
    if (end > this.buf.length) throw new RangeError("truncated field");
    this.pos = end;
    return this.buf.utf8Slice(start, end);
  }

  bytes(): Uint8Array {
    const [start, end] = this.span();
    return this.buf.subarray(start, end);
  }

  /** Skips a fixed-size field; a truncated one is refused, as protobuf-es does. */
  private advance(n: number): void {
    if (this.pos + n > this.buf.length) throw new RangeError("truncated field");
    this.pos += n;
  }

  skip(wireType: number): void {
    switch (wireType) {
      case 0: this.varint(); return;
      case 1: this.advance(8); return;
      case 2: this.span(); return;
      case 5: this.advance(4); return;
      default: throw new RangeError(`unsupported wire type ${wireType}`);
    }
  }
}
