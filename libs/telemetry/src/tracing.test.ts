import { SpanStatusCode } from "@opentelemetry/api";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { afterEach, describe, expect, it, vi } from "vitest";
import { parseTraceparent, SpanKind, traceIdOf, traceparentOf, Tracing, tracingSettings } from "./tracing.js";

describe("tracingSettings", () => {
  it("is off unless an OTLP endpoint is set, and off when the SDK or the exporter is disabled", () => {
    expect(tracingSettings("onramp-edge", {})).toBeUndefined();
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318" };
    expect(tracingSettings("onramp-edge", { ...endpoint, OTEL_SDK_DISABLED: "true" })).toBeUndefined();
    expect(tracingSettings("onramp-edge", { ...endpoint, OTEL_TRACES_EXPORTER: "none" })).toBeUndefined();
    expect(tracingSettings("onramp-edge", { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://c:4318/v1/traces" })?.endpoint).toBe("http://c:4318/v1/traces");
  });

  it("defaults to http/protobuf and the given service name; OTEL_SERVICE_NAME wins", () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318" };
    expect(tracingSettings("onramp-agent", endpoint)).toEqual({ protocol: "http/protobuf", endpoint: "http://127.0.0.1:4318", serviceName: "onramp-agent" });
    expect(tracingSettings("onramp-agent", { ...endpoint, OTEL_SERVICE_NAME: "shop-tunnel", OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" })).toMatchObject({ protocol: "grpc", serviceName: "shop-tunnel" });
    expect(tracingSettings("x", { ...endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: "grpc", OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/json" })?.protocol).toBe("http/json");
  });

  it("names the variable when the protocol is unknown", () => {
    expect(() => tracingSettings("x", { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c", OTEL_EXPORTER_OTLP_PROTOCOL: "http/xml" })).toThrow(
      "OTEL_EXPORTER_OTLP_PROTOCOL=http/xml is not an OTLP protocol; use http/protobuf (the default), http/json or grpc",
    );
  });
});

describe("parseTraceparent", () => {
  it("reads a W3C traceparent and refuses malformed or all-zero ids", () => {
    expect(parseTraceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")).toEqual({
      traceId: "0af7651916cd43dd8448eb211c80319c",
      spanId: "b7ad6b7169203331",
      traceFlags: 1,
      isRemote: true,
    });
    expect(parseTraceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00")?.traceFlags).toBe(0);
    expect(parseTraceparent("00-00000000000000000000000000000000-b7ad6b7169203331-01")).toBeUndefined();
    expect(parseTraceparent("00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01")).toBeUndefined();
    expect(parseTraceparent("ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")).toBeUndefined();
    expect(parseTraceparent("00-0af7651916cd43dd-b7ad6b7169203331-01")).toBeUndefined();
    expect(traceIdOf(undefined)).toBe("");
    expect(traceIdOf("garbage")).toBe("");
  });
});

describe("Tracing.start", () => {
  const settings = { protocol: "http/json" as const, endpoint: "", serviceName: "test" };

  it("continues a sampled parent's trace with a span of its own, attributes included", async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = Tracing.withExporter(settings, exporter);
    const span = tracing.start("GET", SpanKind.SERVER, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", () => ({ "url.path": "/x" }));
    expect(span.isRecording()).toBe(true);
    expect(traceparentOf(span)).toMatch(/^00-0af7651916cd43dd8448eb211c80319c-(?!b7ad6b7169203331)[0-9a-f]{16}-01$/);
    span.end();
    await tracing.flush();
    expect(exporter.getFinishedSpans()[0]!.attributes).toEqual({ "url.path": "/x" });
    await tracing.shutdown();
  });

  it("records nothing under an unsampled parent and passes its context on unchanged, building no attributes", async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = Tracing.withExporter(settings, exporter);
    const parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";
    let built = 0;
    const span = tracing.start("GET", SpanKind.SERVER, parent, () => (built++, {}));
    const child = tracing.start("forward", SpanKind.CLIENT, span);
    expect([span.isRecording(), child.isRecording(), built]).toEqual([false, false, 0]);
    expect(traceparentOf(child)).toBe(parent);
    child.end();
    span.end();
    await tracing.flush();
    expect(exporter.getFinishedSpans()).toEqual([]);
    await tracing.shutdown();
  });

  it("passes an unsampled parent on as version 00 with flags 00, and the same context under every span started below it", async () => {
    const tracing = Tracing.withExporter(settings, new InMemorySpanExporter());
    const span = tracing.start("GET", SpanKind.SERVER, "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-02");
    expect(traceparentOf(span)).toBe("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00");
    expect(span.spanContext()).toMatchObject({ traceId: "0af7651916cd43dd8448eb211c80319c", spanId: "b7ad6b7169203331", traceFlags: 0 });
    expect(tracing.start("forward", SpanKind.CLIENT, tracing.start("policy", SpanKind.INTERNAL, span))).toBe(span);
    await tracing.shutdown();
  });

  afterEach(() => vi.unstubAllEnvs());

  it("exports what the SDK's span would: parent link, kind, timing, status, events, resource and scope", async () => {
    vi.stubEnv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=test");
    const exporter = new InMemorySpanExporter();
    const tracing = Tracing.withExporter(settings, exporter);
    const server = tracing.start("GET", SpanKind.SERVER, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", () => ({ "url.path": "/x" }));
    const client = tracing.start("forward", SpanKind.CLIENT, server);
    client.setAttribute("http.response.status_code", 502).setAttribute("ignored", undefined as unknown as string);
    client.recordException(new TypeError("refused"));
    client.setStatus({ code: SpanStatusCode.ERROR, message: "UPSTREAM_REFUSED" });
    client.end();
    server.setStatus({ code: SpanStatusCode.OK }).setStatus({ code: SpanStatusCode.ERROR });
    server.updateName("GET /x");
    server.end();
    server.setAttribute("after.end", 1).end();
    await tracing.flush();
    const [c, s] = exporter.getFinishedSpans();
    expect(s).toMatchObject({ name: "GET /x", kind: SpanKind.SERVER, status: { code: SpanStatusCode.OK }, attributes: { "url.path": "/x" }, parentSpanContext: { spanId: "b7ad6b7169203331" } });
    expect(s!.resource.attributes).toMatchObject({ "service.name": "test", "deployment.environment": "test" });
    expect(s!.instrumentationScope.name).toBe("onramp");
    expect(c).toMatchObject({ name: "forward", kind: SpanKind.CLIENT, status: { code: SpanStatusCode.ERROR, message: "UPSTREAM_REFUSED" }, attributes: { "http.response.status_code": 502 } });
    expect(c!.parentSpanContext?.spanId).toBe(s!.spanContext().spanId);
    expect(c!.spanContext().traceId).toBe("0af7651916cd43dd8448eb211c80319c");
    expect(c!.events).toMatchObject([{ name: "exception", attributes: { "exception.type": "TypeError", "exception.message": "refused" } }]);
    const micros = (t: [number, number]) => t[0] * 1e6 + t[1] / 1e3;
    expect(micros(s!.endTime)).toBeGreaterThanOrEqual(micros(c!.endTime));
    expect(micros(s!.duration)).toBeCloseTo(micros(s!.endTime) - micros(s!.startTime), 0);
    await tracing.shutdown();
  });

  it("keeps OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT attributes, cut to OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT, and counts the rest as dropped", async () => {
    vi.stubEnv("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "2");
    vi.stubEnv("OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT", "3");
    const exporter = new InMemorySpanExporter();
    const tracing = Tracing.withExporter(settings, exporter);
    tracing.start("GET", SpanKind.SERVER, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", () => ({ a: "abcdef", b: ["xyzw", "q"], c: 3 })).end();
    await tracing.flush();
    expect(exporter.getFinishedSpans()[0]).toMatchObject({ attributes: { a: "abc", b: ["xyz", "q"] }, droppedAttributesCount: 1 });
    await tracing.shutdown();
  });

  it("decides by the trace id under a parent when the sampler does not follow parents (traceidratio, always_off)", async () => {
    const sampledParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    vi.stubEnv("OTEL_TRACES_SAMPLER", "always_off");
    const off = Tracing.withExporter(settings, new InMemorySpanExporter());
    const dropped = off.start("GET", SpanKind.SERVER, sampledParent);
    expect([dropped.isRecording(), traceparentOf(dropped)]).toEqual([false, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"]);
    await off.shutdown();
    vi.stubEnv("OTEL_TRACES_SAMPLER", "traceidratio");
    vi.stubEnv("OTEL_TRACES_SAMPLER_ARG", "0.5");
    const ratio = Tracing.withExporter(settings, new InMemorySpanExporter());
    // The ids' accumulate(): 0x00000001 is under 0.5 × 0xffffffff, 0xffffffff is not; the parent's flags do not matter.
    expect(ratio.start("GET", SpanKind.SERVER, "00-00000000000000000000000000000001-b7ad6b7169203331-00").isRecording()).toBe(true);
    expect(ratio.start("GET", SpanKind.SERVER, "00-000000000000000000000000ffffffff-b7ad6b7169203331-01").isRecording()).toBe(false);
    await ratio.shutdown();
  });
});
