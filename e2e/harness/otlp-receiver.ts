import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { promisify } from "node:util";
import { gunzip } from "node:zlib";
import { Server as GrpcServer, ServerCredentials, status as GrpcStatus, type sendUnaryData, type ServerUnaryCall, type ServiceDefinition } from "@grpc/grpc-js";
import { decodeJsonRequest } from "./otlp-json.js";
import { decodeProtobufRequest } from "./otlp-protobuf.js";

/**
 * A trace receiver that decodes real OTLP export requests, standing in for the OpenTelemetry
 * Collector (not packaged here) so e2e tests can check the spans edge and agent export. It decodes
 * by hand — OTLP/JSON (otlp-json.ts), and the protobuf wire format with a small reader
 * (otlp-protobuf.ts) — rather than through the SDK's own serializers, so a test does not check the
 * exporters against themselves.
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
 * as the raw protobuf bytes, which otlp-protobuf.ts decodes. grpc-js itself undoes `grpc-encoding: gzip`.
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

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
