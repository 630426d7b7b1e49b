export { createLogger, silentLogger } from "./logger.js";
export type { LogDestination, LogFormat, LogLevel, Logger, LoggerOptions } from "./logger.js";
export { createEdgeMetrics } from "./metrics.js";
export type { EdgeMetrics } from "./metrics.js";
export { Tracing, SpanKind, SpanStatusCode, endSpan, parseTraceparent, traceIdOf, traceparentOf, tracingSettings } from "./tracing.js";
export type { Attributes, OtlpProtocol, Span, TracingSettings } from "./tracing.js";
