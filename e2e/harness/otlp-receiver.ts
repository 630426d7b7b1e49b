import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { promisify } from "node:util";
import { gunzip } from "node:zlib";
import { Server as GrpcServer, ServerCredentials, status as GrpcStatus, type sendUnaryData, type ServerUnaryCall, type ServiceDefinition } from "@grpc/grpc-js";

/**
 * A trace receiver that decodes real OTLP export requests, standing in for the OpenTelemetry
 * Collector (not packaged here) so e2e tests can check the spans edge and agent export. It decodes
 * by hand — OTLP/JSON, and the protobuf wire format with a small reader — rather than through the
 * SDK's own serializers, so a test does not check the exporters against themselves.
 */

/** The OTLP wire formats `OTEL_EXPORTER_OTLP_PROTOCOL` names. */
export type OtlpProtocol = "http/json" | "http/protobuf" | "grpc";

/** An OTLP AnyValue: bytes as base64 (as OTLP/JSON writes them), an empty AnyValue as null. */
export type AttributeValue = string | number | boolean | null | AttributeValue[] | { [key: string]: AttributeValue };

export interface ReceivedSpan {
  /** The resource attribute `service.name`; "" when the resource has none. */
  service: string;
  /** Ids are lowercase hex whatever the encoding carried (bytes, hex or base64). */
  traceId: string;
  spanId: string;
  /** "" for a root span. */
  parentSpanId: string;
  name: string;
  /** OTLP's SpanKind, which is the API's `SpanKind` + 1: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  /** int64 values become numbers (exact up to 2^53, which is all a test compares). */
  attributes: Record<string, AttributeValue>;
  /** OTLP's StatusCode (0 unset, 1 ok, 2 error, as in the API); `message` only when non-empty. */
  status: { code: number; message?: string };
  /** Nanoseconds since the epoch as decimal strings: they exceed 2^53. */
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  /** Every resource attribute, `service.name` included. */
  resource: Record<string, AttributeValue>;
  /** The instrumentation scope's name (the tracer's name). */
  scope: string;
}

export interface OtlpReceiver {
  readonly protocol: OtlpProtocol;
  /** `http://127.0.0.1:PORT`: the value for `OTEL_EXPORTER_OTLP_ENDPOINT` (HTTP exporters append `/v1/traces`). */
  readonly endpoint: string;
  /** The URL for an exporter's `url` option or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`: `/v1/traces` over HTTP, `endpoint` for gRPC. */
  readonly tracesUrl: string;
  /** Every span decoded so far, in arrival order. */
  readonly spans: readonly ReceivedSpan[];
  /** One line per request refused (wrong path, content type or encoding; undecodable body), for diagnostics. */
  readonly errors: readonly string[];
  /**
   * Resolves with the spans once `predicate` holds, checked now and after each export request;
   * rejects after `timeoutMs`, listing what did arrive and every refused request.
   */
  waitFor(predicate: (spans: readonly ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<ReceivedSpan[]>;
  /** Stops listening and drops open connections; pending `waitFor`s reject. */
  close(): Promise<void>;
}

/** 15 s: three times the BatchSpanProcessor's default 5 s export delay (`OTEL_BSP_SCHEDULE_DELAY`). */
const DEFAULT_WAIT_MS = 15_000;

/** Starts a receiver on a free loopback port. Over HTTP it refuses the other encoding, so a test learns when a process ignored the protocol it was given. */
export async function startOtlpReceiver(protocol: OtlpProtocol): Promise<OtlpReceiver> {
  const log = createSpanLog(protocol);
  let listening: Listening;
  if (protocol === "grpc") listening = await listenGrpc(log);
  else if (protocol === "http/json" || protocol === "http/protobuf") listening = await listenHttp(protocol, log);
  else throw new Error(`startOtlpReceiver: protocol ${JSON.stringify(protocol)} is not http/json, http/protobuf or grpc`);
  const endpoint = `http://127.0.0.1:${listening.port}`;
  return {
    protocol,
    endpoint,
    tracesUrl: protocol === "grpc" ? endpoint : `${endpoint}/v1/traces`,
    spans: log.spans,
    errors: log.errors,
    waitFor: log.waitFor,
    close: async () => {
      log.close();
      await listening.close();
    },
  };
}

interface Listening {
  port: number;
  close(): Promise<void>;
}

interface SpanLog {
  spans: ReceivedSpan[];
  errors: string[];
  add(spans: ReceivedSpan[]): void;
  refuse(what: string): void;
  waitFor: OtlpReceiver["waitFor"];
  close(): void;
}

/** What arrived, and the `waitFor`s to wake when more does: woken per request, so none polls. */
function createSpanLog(protocol: OtlpProtocol): SpanLog {
  const spans: ReceivedSpan[] = [];
  const errors: string[] = [];
  const waiters = new Map<() => void, (reason: string) => void>();
  const summary = () => {
    const names = spans.slice(0, 30).map((s) => `${s.service}/${s.name}`);
    const more = spans.length > names.length ? ", …" : "";
    return `${spans.length} span(s) received [${names.join(", ")}${more}]; refused requests: ${errors.length ? errors.join(" | ") : "none"}`;
  };
  return {
    spans,
    errors,
    add(batch) {
      spans.push(...batch);
      for (const check of [...waiters.keys()]) check();
    },
    refuse(what) {
      errors.push(`${protocol}: ${what}`);
    },
    waitFor(predicate, timeoutMs = DEFAULT_WAIT_MS) {
      return new Promise<ReceivedSpan[]>((resolve, reject) => {
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        const fail = (reason: string) => {
          done();
          reject(new Error(`${reason}; ${summary()}`));
        };
        const check = () => {
          let held: boolean;
          try {
            held = predicate(spans);
          } catch (err) {
            done();
            return reject(err);
          }
          if (held) {
            done();
            resolve([...spans]);
          }
        };
        const timer = setTimeout(() => fail(`timed out after ${timeoutMs} ms waiting for spans`), timeoutMs);
        waiters.set(check, fail);
        check();
      });
    },
    close() {
      for (const fail of [...waiters.values()]) fail("the OTLP receiver was closed while waiting for spans");
    },
  };
}

// ---- OTLP/HTTP (https://opentelemetry.io/docs/specs/otlp/#otlphttp) ----

const MEDIA_TYPE = { "http/json": "application/json", "http/protobuf": "application/x-protobuf" } as const;
const gunzipAsync = promisify(gunzip);

async function listenHttp(protocol: "http/json" | "http/protobuf", log: SpanLog): Promise<Listening> {
  const server = createServer((req, res) => void serveHttp(protocol, log, req, res));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function serveHttp(protocol: "http/json" | "http/protobuf", log: SpanLog, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const refuse = (status: number, message: string) => {
    log.refuse(`${status} ${req.method} ${req.url}: ${message}`);
    answer(res, protocol, status, message);
  };
  const path = (req.url ?? "/").split("?")[0];
  if (req.method !== "POST" || path !== "/v1/traces") return refuse(404, "only POST /v1/traces is served");
  const type = String(req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== MEDIA_TYPE[protocol]) return refuse(415, `content-type ${JSON.stringify(type)}, expected ${MEDIA_TYPE[protocol]} (${protocol})`);
  const coding = String(req.headers["content-encoding"] ?? "identity").trim().toLowerCase();
  if (coding !== "identity" && coding !== "gzip") return refuse(415, `content-encoding ${JSON.stringify(coding)}, expected gzip or none`);
  let body: Buffer;
  try {
    body = await readBody(req);
    if (coding === "gzip") body = await gunzipAsync(body);
  } catch (err) {
    return refuse(400, `unreadable body: ${messageOf(err)}`);
  }
  let spans: ReceivedSpan[];
  try {
    spans = protocol === "http/json" ? decodeJsonRequest(body) : decodeProtobufRequest(body);
  } catch (err) {
    return refuse(400, `undecodable body: ${messageOf(err)}`);
  }
  log.add(spans);
  answer(res, protocol, 200);
}

/** An empty ExportTraceServiceResponse (`{}` / zero bytes), or a google.rpc.Status, in the request's encoding as OTLP/HTTP asks. */
function answer(res: ServerResponse, protocol: "http/json" | "http/protobuf", status: number, error?: string): void {
  if (res.headersSent || res.destroyed) return;
  const code = status === 404 ? RPC_NOT_FOUND : RPC_INVALID_ARGUMENT;
  const json = protocol === "http/json";
  const body = error === undefined ? (json ? "{}" : Buffer.alloc(0)) : json ? JSON.stringify({ code, message: error }) : rpcStatus(code, error);
  res.writeHead(status, { "content-type": MEDIA_TYPE[protocol] }).end(body);
}

/** google.rpc.Code values (https://github.com/googleapis/googleapis/blob/master/google/rpc/code.proto). */
const RPC_INVALID_ARGUMENT = 3;
const RPC_NOT_FOUND = 5;

/** google.rpc.Status {1: int32 code, 2: string message} in the protobuf wire format. */
function rpcStatus(code: number, message: string): Buffer {
  const text = Buffer.from(message, "utf8");
  const length: number[] = [];
  for (let n = text.length; ; n >>>= 7) {
    if (n < 0x80) {
      length.push(n);
      break;
    }
    length.push((n & 0x7f) | 0x80);
  }
  return Buffer.concat([Buffer.from([0x08, code, 0x12, ...length]), text]);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

// ---- OTLP/gRPC ----

/**
 * The collector's TraceService by hand, with identity (de)serializers: the body reaches the handler
 * as the raw protobuf bytes, which the reader below decodes. grpc-js itself undoes `grpc-encoding: gzip`.
 */
const TRACE_SERVICE: ServiceDefinition = {
  Export: {
    path: "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
    requestStream: false,
    responseStream: false,
    requestSerialize: (message: Buffer) => message,
    requestDeserialize: (bytes: Buffer) => bytes,
    responseSerialize: (message: Buffer) => message,
    responseDeserialize: (bytes: Buffer) => bytes,
  },
};

async function listenGrpc(log: SpanLog): Promise<Listening> {
  const server = new GrpcServer();
  server.addService(TRACE_SERVICE, {
    Export: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
      let spans: ReceivedSpan[];
      try {
        spans = decodeProtobufRequest(call.request);
      } catch (err) {
        const details = `undecodable body: ${messageOf(err)}`;
        log.refuse(`INVALID_ARGUMENT Export: ${details}`);
        return callback({ code: GrpcStatus.INVALID_ARGUMENT, details });
      }
      log.add(spans);
      callback(null, Buffer.alloc(0)); // an empty ExportTraceServiceResponse
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (err, bound) => (err ? reject(err) : resolve(bound))),
  );
  return {
    port,
    close: async () => server.forceShutdown(), // exporters keep their channel open; a graceful shutdown would wait on them
  };
}

// ---- OTLP/JSON (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding) ----

/** OTLP/JSON: lowerCamelCase keys, ids as hex (base64 too, as generic protobuf-JSON writes bytes), enums as integers, int64 as strings or numbers. */
function decodeJsonRequest(body: Buffer): ReceivedSpan[] {
  const request: unknown = JSON.parse(body.toString("utf8"));
  if (typeof request !== "object" || request === null || Array.isArray(request)) throw new Error("the body is not a JSON object");
  const spans: ReceivedSpan[] = [];
  for (const resourceSpans of arrayAt(request, "resourceSpans")) {
    const resource = jsonAttributes(arrayAt(fieldOf(resourceSpans, "resource"), "attributes"));
    for (const scopeSpans of arrayAt(resourceSpans, "scopeSpans")) {
      const scope = stringAt(fieldOf(scopeSpans, "scope"), "name");
      for (const span of arrayAt(scopeSpans, "spans")) {
        const status = fieldOf(span, "status");
        spans.push(
          checked({
            ...origin(resource, scope),
            traceId: jsonId(fieldOf(span, "traceId"), 16, "traceId"),
            spanId: jsonId(fieldOf(span, "spanId"), 8, "spanId"),
            parentSpanId: jsonId(fieldOf(span, "parentSpanId"), 8, "parentSpanId"),
            name: stringAt(span, "name"),
            kind: integerAt(span, "kind"),
            attributes: jsonAttributes(arrayAt(span, "attributes")),
            status: statusOf(integerAt(status, "code"), stringAt(status, "message")),
            startTimeUnixNano: nanosAt(span, "startTimeUnixNano"),
            endTimeUnixNano: nanosAt(span, "endTimeUnixNano"),
          }),
        );
      }
    }
  }
  return spans;
}

function fieldOf(value: unknown, key: string): unknown {
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

function arrayAt(value: unknown, key: string): unknown[] {
  const found = fieldOf(value, key);
  if (found === undefined || found === null) return [];
  if (!Array.isArray(found)) throw new Error(`${key} is not an array`);
  return found;
}

function stringAt(value: unknown, key: string): string {
  const found = fieldOf(value, key) ?? "";
  if (typeof found !== "string") throw new Error(`${key} is not a string`);
  return found;
}

function integerAt(value: unknown, key: string): number {
  const found = fieldOf(value, key) ?? 0;
  if (!Number.isInteger(found)) throw new Error(`${key} ${JSON.stringify(found)} is not an integer (OTLP/JSON writes enums as integers)`);
  return found as number;
}

function nanosAt(value: unknown, key: string): string {
  const found = fieldOf(value, key) ?? "0";
  if ((typeof found === "string" && /^\d+$/.test(found)) || (typeof found === "number" && Number.isSafeInteger(found) && found >= 0)) return BigInt(found).toString();
  throw new Error(`${key} ${JSON.stringify(found)} is not a count of nanoseconds`);
}

/** OTLP/JSON requires hex ids; base64 (what a generic protobuf-JSON encoder writes for bytes) is accepted too. */
function jsonId(value: unknown, bytes: number, key: string): string {
  if (value === undefined || value === null || value === "") return "";
  if (typeof value === "string") {
    if (value.length === bytes * 2 && /^[0-9a-f]+$/i.test(value)) return value.toLowerCase();
    if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(value)) {
      const decoded = Buffer.from(value, "base64");
      if (decoded.length === bytes) return decoded.toString("hex");
    }
  }
  throw new Error(`${key} ${JSON.stringify(value)} is neither ${bytes * 2} hex digits nor base64 of ${bytes} bytes`);
}

function jsonAttributes(list: unknown[]): Record<string, AttributeValue> {
  const attributes: Record<string, AttributeValue> = {};
  for (const kv of list) attributes[stringAt(kv, "key")] = jsonAnyValue(fieldOf(kv, "value"));
  return attributes;
}

function jsonAnyValue(value: unknown): AttributeValue {
  if (typeof value !== "object" || value === null) return null;
  if ("stringValue" in value) return stringAt(value, "stringValue");
  if ("boolValue" in value) {
    if (typeof value.boolValue !== "boolean") throw new Error(`boolValue ${JSON.stringify(value.boolValue)} is not a boolean`);
    return value.boolValue;
  }
  if ("intValue" in value) return numberOf(value.intValue, "intValue");
  if ("doubleValue" in value) return numberOf(value.doubleValue, "doubleValue");
  if ("bytesValue" in value) return stringAt(value, "bytesValue");
  if ("arrayValue" in value) return arrayAt(value.arrayValue, "values").map(jsonAnyValue);
  if ("kvlistValue" in value) return jsonAttributes(arrayAt(value.kvlistValue, "values"));
  return null;
}

/** int64 may come as a string or a number; doubles as numbers or "NaN" / "Infinity" / "-Infinity". */
function numberOf(raw: unknown, key: string): number {
  if (typeof raw === "number") return raw;
  if (typeof raw === "string" && raw.trim() !== "" && (!Number.isNaN(Number(raw)) || raw === "NaN")) return Number(raw);
  throw new Error(`${key} ${JSON.stringify(raw)} is not a number`);
}

// ---- Protobuf (https://protobuf.dev/programming-guides/encoding/) ----
// Field numbers from opentelemetry-proto (trace/v1/trace.proto, common/v1/common.proto), as the
// SDK's own serializer (@opentelemetry/otlp-transformer, trace-serializer.js) writes them.

/** ExportTraceServiceRequest {1: repeated ResourceSpans}. */
function decodeProtobufRequest(body: Uint8Array): ReceivedSpan[] {
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

// ---- shared by both decoders ----

function origin(resource: Record<string, AttributeValue>, scope: string): Pick<ReceivedSpan, "service" | "resource" | "scope"> {
  const service = resource["service.name"];
  return { service: typeof service === "string" ? service : "", resource, scope };
}

function statusOf(code: number, message: string): ReceivedSpan["status"] {
  return message ? { code, message } : { code };
}

/** A span without a trace or span id is invalid (trace.proto: "This field is required"). */
function checked(span: ReceivedSpan): ReceivedSpan {
  if (!span.traceId || !span.spanId) throw new Error(`span ${JSON.stringify(span.name)} lacks a trace_id or span_id`);
  return span;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
