export { createLogger, silentLogger } from "./logger.js";
export type { LogDestination, LogFormat, LogLevel, Logger, LoggerOptions } from "./logger.js";
export { boundedLabel, createEdgeMetrics, MAX_ENDPOINT_LABELS } from "./metrics.js";
export type { EdgeMetrics } from "./metrics.js";
export { Tracing, SpanKind, SpanStatusCode, endSpan, parseTraceparent, traceIdOf, traceparentOf, tracingSettings } from "./tracing.js";
export type { Attributes, OtlpProtocol, Span, SpanExporter, TracingSettings } from "./tracing.js";
