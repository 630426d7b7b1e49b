import { gzipSync } from "node:zlib";
import { Client, credentials, status as GrpcStatus, type ServiceError } from "@grpc/grpc-js";
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type HrTime } from "@opentelemetry/api";
import { OTLPTraceExporter as GrpcExporter } from "@opentelemetry/exporter-trace-otlp-grpc";
import { OTLPTraceExporter as JsonExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as ProtobufExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { CompressionAlgorithm } from "@opentelemetry/otlp-exporter-base";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BasicTracerProvider, SimpleSpanProcessor, type ReadableSpan, type SpanExporter } from "@opentelemetry/sdk-trace-base";
import { afterEach, describe, expect, it } from "vitest";
import { startOtlpReceiver, type OtlpProtocol, type OtlpReceiver } from "./otlp-receiver.js";

// Every server and tracer provider a test starts, stopped after it (providers first, so no export
// is left talking to a closed receiver).
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function receiver(protocol: OtlpProtocol): Promise<OtlpReceiver> {
  const started = await startOtlpReceiver(protocol);
  cleanups.push(() => started.close());
  return started;
}

function exporterFor(receiver: OtlpReceiver, compression: CompressionAlgorithm): SpanExporter {
  const config = { url: receiver.tracesUrl, compression };
  switch (receiver.protocol) {
    case "grpc":
      return new GrpcExporter(config);
    case "http/json":
      return new JsonExporter(config);
    case "http/protobuf":
      return new ProtobufExporter(config);
  }
}

/** A SERVER span with a CLIENT child that failed, exported through the real SDK and exporter. */
async function exportParentAndChild(receiver: OtlpReceiver, compression: CompressionAlgorithm) {
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ "service.name": "otlp-receiver-test", "deployment.environment.name": "e2e" }),
    spanProcessors: [new SimpleSpanProcessor(exporterFor(receiver, compression))],
  });
  cleanups.push(() => provider.shutdown());
  const tracer = provider.getTracer("otlp-receiver.test");
  const parent = tracer.startSpan("GET /hello", { kind: SpanKind.SERVER, attributes: { "http.request.method": "GET", "http.response.status_code": 502 } }, ROOT_CONTEXT);
  const child = tracer.startSpan(
    "upstream",
    { kind: SpanKind.CLIENT, attributes: { "server.address": "127.0.0.1", "onramp.retried": true, "onramp.ratio": 0.25, "onramp.offset": -7, "onramp.tags": ["a", "b"] } },
    trace.setSpan(ROOT_CONTEXT, parent),
  );
  child.setStatus({ code: SpanStatusCode.ERROR, message: "ERR_ONRAMP_UPSTREAM_REFUSED" });
  child.end();
  parent.end();
  await provider.forceFlush();
  // The SDK's spans are ReadableSpans: their ids and times are what the receiver must report.
  return { parent: parent as unknown as ReadableSpan, child: child as unknown as ReadableSpan };
}

function nanos(time: HrTime): string {
  return (BigInt(Math.trunc(time[0])) * 1_000_000_000n + BigInt(Math.trunc(time[1]))).toString();
}

describe.each<OtlpProtocol>(["http/json", "http/protobuf", "grpc"])("OTLP receiver over %s", (protocol) => {
  it.each([CompressionAlgorithm.NONE, CompressionAlgorithm.GZIP])("decodes a parent and a failed child exported with compression %s", async (compression) => {
    const otlp = await receiver(protocol);
    const { parent, child } = await exportParentAndChild(otlp, compression);

    const spans = await otlp.waitFor((s) => s.length >= 2);
    expect(otlp.errors).toEqual([]);
    expect(spans).toHaveLength(2);
    const byName = new Map(spans.map((s) => [s.name, s]));
    const resource = expect.objectContaining({ "service.name": "otlp-receiver-test", "deployment.environment.name": "e2e" });
    expect(byName.get("GET /hello")).toEqual({
      service: "otlp-receiver-test",
      resource,
      scope: "otlp-receiver.test",
      traceId: parent.spanContext().traceId,
      spanId: parent.spanContext().spanId,
      parentSpanId: "",
      name: "GET /hello",
      kind: 2, // OTLP SPAN_KIND_SERVER: the API's SpanKind.SERVER + 1
      attributes: { "http.request.method": "GET", "http.response.status_code": 502 },
      status: { code: 0 },
      startTimeUnixNano: nanos(parent.startTime),
      endTimeUnixNano: nanos(parent.endTime),
    });
    expect(byName.get("upstream")).toEqual({
      service: "otlp-receiver-test",
      resource,
      scope: "otlp-receiver.test",
      traceId: parent.spanContext().traceId,
      spanId: child.spanContext().spanId,
      parentSpanId: parent.spanContext().spanId,
      name: "upstream",
      kind: 3, // OTLP SPAN_KIND_CLIENT
      attributes: { "server.address": "127.0.0.1", "onramp.retried": true, "onramp.ratio": 0.25, "onramp.offset": -7, "onramp.tags": ["a", "b"] },
      status: { code: 2, message: "ERR_ONRAMP_UPSTREAM_REFUSED" },
      startTimeUnixNano: nanos(child.startTime),
      endTimeUnixNano: nanos(child.endTime),
    });
    expect(child.spanContext().traceId).toMatch(/^[0-9a-f]{32}$/);
  });

  it("rejects a waitFor that is not met in time, saying what did arrive", async () => {
    const otlp = await receiver(protocol);
    await expect(otlp.waitFor((s) => s.length > 0, 50)).rejects.toThrow(/timed out after 50 ms waiting for spans; 0 span\(s\) received \[\]; refused requests: none/);
  });
});

describe("OTLP receiver on odd input", () => {
  const post = (otlp: OtlpReceiver, type: string, body: string | Buffer, headers: Record<string, string> = {}) =>
    fetch(otlp.tracesUrl, { method: "POST", headers: { "content-type": type, ...headers }, body });

  it("decodes OTLP/JSON ids sent as base64, int64 as strings, and gzip", async () => {
    const otlp = await receiver("http/json");
    const traceId = "5b8efff798038103d269b633813fc60c";
    const spanId = "eee19b7ec3c1b174";
    const request = {
      resourceSpans: [
        {
          resource: { attributes: [{ key: "service.name", value: { stringValue: "by-hand" } }] },
          scopeSpans: [
            {
              scope: { name: "hand" },
              spans: [
                {
                  traceId: Buffer.from(traceId, "hex").toString("base64"),
                  spanId: Buffer.from(spanId, "hex").toString("base64"),
                  name: "base64 ids",
                  kind: 1,
                  startTimeUnixNano: "1700000000000000001",
                  endTimeUnixNano: "1700000000000000002",
                  attributes: [{ key: "n", value: { intValue: "42" } }, { key: "list", value: { arrayValue: { values: [{ boolValue: false }] } } }],
                  status: { code: 1 },
                },
              ],
            },
          ],
        },
      ],
    };
    const res = await post(otlp, "application/json; charset=utf-8", gzipSync(JSON.stringify(request)), { "content-encoding": "gzip" });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(await res.json()).toEqual({});
    expect(otlp.spans).toEqual([
      expect.objectContaining({ service: "by-hand", scope: "hand", traceId, spanId, parentSpanId: "", kind: 1, attributes: { n: 42, list: [false] }, status: { code: 1 }, startTimeUnixNano: "1700000000000000001" }),
    ]);
  });

  it("answers 400 to a body it cannot decode and records why", async () => {
    const json = await receiver("http/json");
    const bad = await post(json, "application/json", "{not json");
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 3 });
    const badId = await post(json, "application/json", JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: "xyz", spanId: "eee19b7ec3c1b174" }] }] }] }));
    expect(badId.status).toBe(400);
    expect(json.errors).toEqual([expect.stringMatching(/^http\/json: 400 POST \/v1\/traces: undecodable/), expect.stringContaining('traceId "xyz" is neither 32 hex digits nor base64 of 16 bytes')]);

    const protobuf = await receiver("http/protobuf");
    const truncated = await post(protobuf, "application/x-protobuf", Buffer.from([0x0a, 0x05, 0x01])); // resource_spans claims 5 bytes, has 1
    expect(truncated.status).toBe(400);
    expect(truncated.headers.get("content-type")).toBe("application/x-protobuf");
    expect(protobuf.errors).toEqual([expect.stringContaining("ExportTraceServiceRequest: truncated")]);
    expect(json.spans).toEqual([]);
    expect(protobuf.spans).toEqual([]);
  });

  it("answers 415 to the other encoding and 404 to other paths, and records both", async () => {
    const otlp = await receiver("http/protobuf");
    expect((await post(otlp, "application/json", "{}")).status).toBe(415);
    expect((await fetch(`${otlp.endpoint}/v1/metrics`, { method: "POST", headers: { "content-type": "application/x-protobuf" }, body: "" })).status).toBe(404);
    expect(otlp.errors).toEqual([expect.stringContaining('415 POST /v1/traces: content-type "application/json", expected application/x-protobuf'), expect.stringContaining("404 POST /v1/metrics")]);
  });

  it("answers INVALID_ARGUMENT over gRPC to bytes it cannot decode and records why", async () => {
    const otlp = await receiver("grpc");
    const client = new Client(new URL(otlp.endpoint).host, credentials.createInsecure());
    cleanups.push(async () => client.close());
    const identity = (bytes: Buffer) => bytes;
    const error = await new Promise<ServiceError | null>((resolve) =>
      client.makeUnaryRequest("/opentelemetry.proto.collector.trace.v1.TraceService/Export", identity, identity, Buffer.from([0x0b]), (err) => resolve(err)),
    );
    expect(error?.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(otlp.errors).toEqual([expect.stringContaining("wire type 3 (start-group), which OTLP does not use")]);
  });
});
