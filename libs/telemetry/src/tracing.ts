import { SpanKind, SpanStatusCode, TraceFlags, type Attributes, type Span, type SpanContext } from "@opentelemetry/api";
import { detectResources, envDetector, resourceFromAttributes, type Resource } from "@opentelemetry/resources";
import type { SpanExporter } from "@opentelemetry/sdk-trace-base";
import { ExportThread, InThreadExport } from "./export-thread.js";
import type { OtlpProtocol } from "./otlp-exporters.js";
import { RecordedSpan, spanLimits, type SpanLimits, type SpanSink } from "./recorded-span.js";
import { TraceIds, accumulate, samplingPlan, type SamplingPlan } from "./root-sampling.js";
import { UnrecordedSpan } from "./unrecorded-span.js";

export { SpanKind, SpanStatusCode, type Attributes, type OtlpProtocol, type Span, type SpanExporter };

export interface TracingSettings {
  protocol: OtlpProtocol;
  /** The collector's address as given (the exporter adds `/v1/traces` for HTTP). */
  endpoint: string;
  serviceName: string;
}

/**
 * Tracing of one process (an edge or an agent), configured only by the standard OpenTelemetry
 * variables. Spans are started with an explicit parent (a `traceparent` value), never from an
 * ambient context: nothing on the request path pays for async context tracking, and a process
 * without tracing has no `Tracing` at all, so it pays nothing.
 *
 * Sampling is decided here, by the rules of the SDK's samplers; a sampled span is a RecordedSpan,
 * an unsampled one an UnrecordedSpan that only carries the context on. The SDK's batch processor
 * and OTLP exporters do the rest, on a thread of their own (ExportThread).
 */
export class Tracing {
  /** The sampler follows the parent's decision (`parentbased_*`, the default): an unsampled parent means an unsampled span. */
  private readonly parentBased: boolean;
  private readonly ids = new TraceIds();

  private constructor(
    private readonly sink: SpanSink,
    readonly settings: TracingSettings,
    private readonly sampling: SamplingPlan,
    private readonly limits: SpanLimits,
  ) {
    this.parentBased = sampling.parentBased;
  }

  /**
   * Tracing as the environment asks for it; undefined (off) unless `OTEL_EXPORTER_OTLP_ENDPOINT`
   * or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set, and off with `OTEL_SDK_DISABLED=true` or
   * `OTEL_TRACES_EXPORTER=none`. Sampling follows `OTEL_TRACES_SAMPLER[_ARG]` (default: parent-based,
   * always on); the resource takes `OTEL_SERVICE_NAME` (else `defaultServiceName`) and
   * `OTEL_RESOURCE_ATTRIBUTES` (from `process.env`: the SDK's detector reads nothing else). The
   * export thread's exporter and batch processor read `env` (endpoint, headers, `OTEL_BSP_*`).
   * Throws, naming the variable, on a protocol it does not know.
   */
  static fromEnv(defaultServiceName: string, env: NodeJS.ProcessEnv = process.env): Tracing | undefined {
    const settings = tracingSettings(defaultServiceName, env);
    if (!settings) return undefined;
    return Tracing.create(settings, env, (resource) => new ExportThread(settings.protocol, resource, env));
  }

  /** Tracing that hands finished spans to `exporter` in batches, in this thread (embedders, tests); sampling and resource from the environment as above. */
  static withExporter(settings: TracingSettings, exporter: SpanExporter): Tracing {
    return Tracing.create(settings, process.env, (resource) => new InThreadExport(exporter, resource));
  }

  private static create(settings: TracingSettings, env: NodeJS.ProcessEnv, sinkFor: (resource: Resource) => SpanSink): Tracing {
    const resource: Resource = resourceFromAttributes({ "service.name": settings.serviceName }).merge(detectResources({ detectors: [envDetector] }));
    return new Tracing(sinkFor(resource), settings, samplingPlan(env), spanLimits(env));
  }

  /** Exports every finished span now. */
  async flush(): Promise<void> {
    await this.sink.forceFlush();
  }

  /**
   * Starts a span under the span a `traceparent` header value names (a new trace when it is
   * absent or malformed). `parent` may also be a span of this process. `attributes` is called only
   * when the span is sampled: most requests of a sampled-down service build none (samplers do not
   * see them).
   */
  start(name: string, kind: SpanKind, parent: string | Span | undefined, attributes?: () => Attributes): Span {
    // Under a span that records nothing (an unsampled trace), nothing is recorded either: the
    // same context goes on. Most requests of a sampled-down service take this path at every hop.
    if (parent instanceof UnrecordedSpan) return parent;
    let parentContext: SpanContext | undefined;
    if (typeof parent === "string") {
      // The request's trace was not sampled, and the sampler follows the parent: no span to record,
      // and the parent's context goes on as is (W3C lets a hop that does not record forward its
      // caller's parent id).
      if (this.parentBased && unsampled(parent)) return new UnrecordedSpan(isPlainUnsampled(parent) ? parent : `00-${parent.slice(3, 52)}-00`);
      parentContext = parseTraceparent(parent);
    } else if (parent !== undefined) {
      parentContext = parent.spanContext();
    }
    let span: Span;
    if (parentContext !== undefined) {
      const sampled = this.parentBased ? (parentContext.traceFlags & TraceFlags.SAMPLED) !== 0 : this.samplesRoot(parentContext.traceId);
      if (!sampled) return new UnrecordedSpan(`00-${parentContext.traceId}-${parentContext.spanId}-00`);
      span = new RecordedSpan(this.sink, this.limits, name, kind, parentContext.traceId, this.ids.spanId(), parentContext);
    } else {
      // A new trace, decided by the root sampler's rule on the ids drawn for it.
      const bound = this.sampling.rootUpperBound;
      const accumulation = this.ids.drawRoot();
      if (bound !== undefined && accumulation >= bound) return new UnrecordedSpan(this.ids.rootTraceparent());
      span = new RecordedSpan(this.sink, this.limits, name, kind, this.ids.rootTraceId(), this.ids.rootSpanId(), undefined);
    }
    if (attributes) span.setAttributes(attributes());
    return span;
  }

  /**
   * True when nothing under `traceparent` is recorded (it is unsampled and the sampler follows
   * the parent): a hop can pass it on as is and skip its spans.
   */
  skips(traceparent: string): boolean {
    return this.parentBased && unsampled(traceparent);
  }

  /** The root sampler's decision for a trace this process did not start (a sampler that does not follow parents). */
  private samplesRoot(traceId: string): boolean {
    const bound = this.sampling.rootUpperBound;
    return bound === undefined || accumulate(traceId) < bound;
  }

  /** Sends what is buffered and stops; spans started later are dropped. */
  async shutdown(): Promise<void> {
    await this.sink.shutdown();
  }
}

/** The settings the environment asks for, or undefined when tracing is off. */
export function tracingSettings(defaultServiceName: string, env: NodeJS.ProcessEnv): TracingSettings | undefined {
  const endpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!endpoint) return undefined;
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return undefined;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? "otlp").split(",").map((e) => e.trim().toLowerCase());
  if (exporters.includes("none")) return undefined;
  const given = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL || "http/protobuf").trim();
  const name = env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ? "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL" : "OTEL_EXPORTER_OTLP_PROTOCOL";
  if (given !== "http/protobuf" && given !== "http/json" && given !== "grpc") {
    throw new Error(`${name}=${given} is not an OTLP protocol; use http/protobuf (the default), http/json or grpc`);
  }
  return { protocol: given, endpoint, serviceName: env.OTEL_SERVICE_NAME?.trim() || defaultServiceName };
}

/**
 * The span context a W3C `traceparent` value names (version 00's layout: `vv-<32 hex>-<16 hex>-ff`);
 * undefined when it is malformed, version ff, or an id is all zeros. Checked character by
 * character: it runs for every request of a traced process.
 */
export function parseTraceparent(value: string): SpanContext | undefined {
  if (!isValidTraceparent(value)) return undefined;
  const flags = hexDigit(value.charCodeAt(54));
  return { traceId: value.slice(3, 35), spanId: value.slice(36, 52), traceFlags: flags & TraceFlags.SAMPLED, isRemote: true };
}

/**
 * True when `traceparent` is well formed and says the trace is not sampled: with a parent-based
 * sampler (the default) nothing under it is recorded, so callers may skip tracing work entirely.
 */
export function unsampled(traceparent: string): boolean {
  return traceparent.length === 55 && (hexDigit(traceparent.charCodeAt(54)) & TraceFlags.SAMPLED) === 0 && isValidTraceparent(traceparent);
}

/** `parseTraceparent(value) !== undefined`, without building the context: it runs for every request. */
function isValidTraceparent(value: string): boolean {
  if (value.length !== 55 || value.charCodeAt(2) !== 45 /* - */ || value.charCodeAt(35) !== 45 || value.charCodeAt(52) !== 45) return false;
  return hexRun(value, 0, 2) >= 0 && !value.startsWith("ff") && hexRun(value, 3, 35) > 0 && hexRun(value, 36, 52) > 0 && hexRun(value, 53, 55) >= 0;
}

/** Version 00 and flags 00: the form a hop that records nothing passes on. */
function isPlainUnsampled(traceparent: string): boolean {
  return traceparent.charCodeAt(0) === 48 && traceparent.charCodeAt(1) === 48 && traceparent.charCodeAt(53) === 48 && traceparent.charCodeAt(54) === 48;
}

/** Lowercase hex digit values by character code, -1 for anything else (W3C ids are lowercase). */
const HEX_VALUES = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) HEX_VALUES["0123456789abcdef".charCodeAt(i)] = i;

/** The value of a lowercase hex digit, -1 for anything else. */
function hexDigit(c: number): number {
  return c < 128 ? HEX_VALUES[c]! : -1;
}

/** -1 when v[from, to) is not all lowercase hex digits, else 0 when they are all zeros, 1 when not. */
function hexRun(v: string, from: number, to: number): number {
  let any = 0;
  for (let i = from; i < to; i++) {
    const d = hexDigit(v.charCodeAt(i));
    if (d < 0) return -1;
    any |= d;
  }
  return any === 0 ? 0 : 1;
}

/** The `traceparent` value naming `span` as the parent of what the next hop does. */
export function traceparentOf(span: Span): string {
  if (span instanceof UnrecordedSpan || span instanceof RecordedSpan) return span.traceparent;
  const c = span.spanContext();
  return `00-${c.traceId}-${c.spanId}-${(c.traceFlags & TraceFlags.SAMPLED) !== 0 ? "01" : "00"}`;
}

/** The trace id `traceparent` carries, for log lines; "" when it carries none. */
export function traceIdOf(traceparent: string | undefined): string {
  return (traceparent && parseTraceparent(traceparent)?.traceId) || "";
}

/** Ends a span with an error status naming the Onramp error code (or the HTTP status when ≥ 500). */
export function endSpan(span: Span, status: number | undefined, errorCode: string | undefined, serverSide: boolean): void {
  if (!span.isRecording()) return;
  if (status !== undefined) span.setAttribute("http.response.status_code", status);
  if (errorCode) {
    span.setAttribute("onramp.error.code", errorCode);
    span.setAttribute("error.type", errorCode);
    span.setStatus({ code: SpanStatusCode.ERROR, message: errorCode });
  } else if (status !== undefined && (status >= 500 || (!serverSide && status >= 400))) {
    span.setAttribute("error.type", String(status));
    span.setStatus({ code: SpanStatusCode.ERROR });
  }
  span.end();
}
