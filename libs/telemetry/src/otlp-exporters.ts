import { OTLPTraceExporter as GrpcExporter } from "@opentelemetry/exporter-trace-otlp-grpc";
import { OTLPTraceExporter as JsonExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { OTLPTraceExporter as ProtobufExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import type { SpanExporter } from "@opentelemetry/sdk-trace-base";

/** The OTLP wire formats the standard variable `OTEL_EXPORTER_OTLP_PROTOCOL` names. */
export type OtlpProtocol = "http/protobuf" | "http/json" | "grpc";

/** OpenTelemetry's own OTLP exporter for `protocol`. */
export function otlpExporter(protocol: OtlpProtocol): SpanExporter {
  // Each exporter reads the endpoint, headers, timeout and compression from the standard variables.
  switch (protocol) {
    case "grpc":
      return new GrpcExporter();
    case "http/json":
      return new JsonExporter();
    case "http/protobuf":
      return new ProtobufExporter();
  }
}
