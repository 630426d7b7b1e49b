// ---- Protobuf (https://protobuf.dev/programming-guides/encoding/) ----
// Field numbers from opentelemetry-proto (trace/v1/trace.proto, common/v1/common.proto), as the
// SDK's own serializer (@opentelemetry/otlp-transformer, trace-serializer.js) writes them.

import { checked, origin, statusOf } from "./otlp-json.js";
import type { AttributeValue, ReceivedSpan } from "./otlp-receiver.js";

/** ExportTraceServiceRequest {1: repeated ResourceSpans}. */
export function decodeProtobufRequest(body: Uint8Array): ReceivedSpan[] {
  return fieldsOf(body, "ExportTraceServiceRequest")
    .filter((f) => f.number === 1)
    .flatMap((f) => protoResourceSpans(lengthDelimited(f, "ExportTraceServiceRequest.resource_spans")));
}

/** ResourceSpans {1: Resource {1: repeated KeyValue attributes}, 2: repeated ScopeSpans}. */
function protoResourceSpans(bytes: Uint8Array): ReceivedSpan[] {
  const fields = fieldsOf(bytes, "ResourceSpans");
  let resource: Record<string, AttributeValue> = {};
  for (const f of fields) if (f.number === 1) resource = protoAttributes(fieldsOf(lengthDelimited(f, "ResourceSpans.resource"), "Resource"), 1);
  return fields.filter((f) => f.number === 2).flatMap((f) => protoScopeSpans(lengthDelimited(f, "ResourceSpans.scope_spans"), resource));
}

/** ScopeSpans {1: InstrumentationScope {1: name}, 2: repeated Span}. */
function protoScopeSpans(bytes: Uint8Array, resource: Record<string, AttributeValue>): ReceivedSpan[] {
  const fields = fieldsOf(bytes, "ScopeSpans");
  let scope = "";
  for (const f of fields) {
    if (f.number !== 1) continue;
    for (const g of fieldsOf(lengthDelimited(f, "ScopeSpans.scope"), "InstrumentationScope")) if (g.number === 1) scope = text(g, "InstrumentationScope.name");
  }
  return fields.filter((f) => f.number === 2).map((f) => protoSpan(lengthDelimited(f, "ScopeSpans.spans"), resource, scope));
}

/** Span {1 trace_id, 2 span_id, 4 parent_span_id, 5 name, 6 kind, 7/8 start/end fixed64, 9 attributes, 15 Status}. */
function protoSpan(bytes: Uint8Array, resource: Record<string, AttributeValue>, scope: string): ReceivedSpan {
  const fields = fieldsOf(bytes, "Span");
  const span: ReceivedSpan = { ...origin(resource, scope), traceId: "", spanId: "", parentSpanId: "", name: "", kind: 0, attributes: protoAttributes(fields, 9), status: { code: 0 }, startTimeUnixNano: "0", endTimeUnixNano: "0" };
  for (const f of fields) {
    if (f.number === 1) span.traceId = protoId(f, 16, "Span.trace_id");
    else if (f.number === 2) span.spanId = protoId(f, 8, "Span.span_id");
    else if (f.number === 4) span.parentSpanId = protoId(f, 8, "Span.parent_span_id");
    else if (f.number === 5) span.name = text(f, "Span.name");
    else if (f.number === 6) span.kind = enumOf(f, "Span.kind");
    else if (f.number === 7) span.startTimeUnixNano = fixed64(f, "Span.start_time_unix_nano").toString();
    else if (f.number === 8) span.endTimeUnixNano = fixed64(f, "Span.end_time_unix_nano").toString();
    else if (f.number === 15) span.status = protoStatus(lengthDelimited(f, "Span.status"));
  }
  return checked(span);
}

/** Status {2: message, 3: code}; field 1 is reserved (the old deprecated_code). */
function protoStatus(bytes: Uint8Array): ReceivedSpan["status"] {
  let code = 0;
  let message = "";
  for (const f of fieldsOf(bytes, "Status")) {
    if (f.number === 2) message = text(f, "Status.message");
    else if (f.number === 3) code = enumOf(f, "Status.code");
  }
  return statusOf(code, message);
}

/** The KeyValue {1: key, 2: AnyValue} fields numbered `number` of a message, as a record. */
function protoAttributes(fields: Field[], number: number): Record<string, AttributeValue> {
  const attributes: Record<string, AttributeValue> = {};
  for (const f of fields) {
    if (f.number !== number) continue;
    let key = "";
    let value: AttributeValue = null;
    for (const g of fieldsOf(lengthDelimited(f, "KeyValue"), "KeyValue")) {
      if (g.number === 1) key = text(g, "KeyValue.key");
      else if (g.number === 2) value = protoAnyValue(lengthDelimited(g, "KeyValue.value"));
    }
    attributes[key] = value;
  }
  return attributes;
}

/** AnyValue, a oneof {1 string, 2 bool, 3 int64, 4 double, 5 ArrayValue {1: repeated AnyValue}, 6 KeyValueList {1: repeated KeyValue}, 7 bytes}. */
function protoAnyValue(bytes: Uint8Array): AttributeValue {
  let value: AttributeValue = null;
  for (const f of fieldsOf(bytes, "AnyValue")) {
    if (f.number === 1) value = text(f, "AnyValue.string_value");
    else if (f.number === 2) value = varint(f, "AnyValue.bool_value") !== 0n;
    else if (f.number === 3) value = Number(BigInt.asIntN(64, varint(f, "AnyValue.int_value")));
    else if (f.number === 4) value = doubleOf(fixed64(f, "AnyValue.double_value"));
    else if (f.number === 5) value = fieldsOf(lengthDelimited(f, "AnyValue.array_value"), "ArrayValue").filter((g) => g.number === 1).map((g) => protoAnyValue(lengthDelimited(g, "ArrayValue.values")));
    else if (f.number === 6) value = protoAttributes(fieldsOf(lengthDelimited(f, "AnyValue.kvlist_value"), "KeyValueList"), 1);
    else if (f.number === 7) value = Buffer.from(lengthDelimited(f, "AnyValue.bytes_value")).toString("base64");
  }
  return value;
}

function protoId(f: Field, bytes: number, name: string): string {
  const id = lengthDelimited(f, name);
  if (id.length !== bytes && id.length !== 0) throw new Error(`${name} has ${id.length} bytes, expected ${bytes}`);
  return Buffer.from(id).toString("hex");
}

/** One field of a message: varint, fixed64 and fixed32 values as unsigned bigints, length-delimited ones as bytes. */
type Field = { number: number; wire: 0 | 1 | 5; value: bigint } | { number: number; wire: 2; value: Uint8Array };

const WIRE_NAMES = ["varint", "fixed64", "length-delimited", "start-group", "end-group", "fixed32"];

/** The fields of one message in order; throws, naming the message, on truncation or a wire type OTLP does not use (groups). */
function fieldsOf(bytes: Uint8Array, message: string): Field[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const fields: Field[] = [];
  let pos = 0;
  const need = (n: number) => {
    if (pos + n > bytes.length) throw new Error(`${message}: truncated (${n} bytes needed at offset ${pos} of ${bytes.length})`);
  };
  const readVarint = (): bigint => {
    let result = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      need(1);
      const b = bytes[pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return result;
    }
    throw new Error(`${message}: varint longer than 10 bytes at offset ${pos}`);
  };
  while (pos < bytes.length) {
    const tag = readVarint();
    const number = Number(tag >> 3n);
    const wire = Number(tag & 7n);
    if (number === 0) throw new Error(`${message}: field number 0 at offset ${pos}`);
    if (wire === 0) fields.push({ number, wire, value: readVarint() });
    else if (wire === 1) {
      need(8);
      fields.push({ number, wire, value: view.getBigUint64(pos, true) });
      pos += 8;
    } else if (wire === 2) {
      const length = readVarint();
      need(Number(length));
      fields.push({ number, wire, value: bytes.subarray(pos, pos + Number(length)) });
      pos += Number(length);
    } else if (wire === 5) {
      need(4);
      fields.push({ number, wire, value: BigInt(view.getUint32(pos, true)) });
      pos += 4;
    } else throw new Error(`${message}: field ${number} has wire type ${wire} (${WIRE_NAMES[wire] ?? "unknown"}), which OTLP does not use`);
  }
  return fields;
}

function wrongWire(f: Field, name: string, expected: number): Error {
  return new Error(`${name} (field ${f.number}) has wire type ${WIRE_NAMES[f.wire]}, expected ${WIRE_NAMES[expected]}`);
}

function lengthDelimited(f: Field, name: string): Uint8Array {
  if (f.wire !== 2) throw wrongWire(f, name, 2);
  return f.value;
}

function varint(f: Field, name: string): bigint {
  if (f.wire !== 0) throw wrongWire(f, name, 0);
  return f.value;
}

function fixed64(f: Field, name: string): bigint {
  if (f.wire !== 1) throw wrongWire(f, name, 1);
  return f.value;
}

const utf8 = new TextDecoder();

function text(f: Field, name: string): string {
  return utf8.decode(lengthDelimited(f, name));
}

/** Enums are int32 varints; a negative one arrives sign-extended to ten bytes. */
function enumOf(f: Field, name: string): number {
  return Number(BigInt.asIntN(32, varint(f, name)));
}

function doubleOf(bits: bigint): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, bits, true);
  return view.getFloat64(0, true);
}
