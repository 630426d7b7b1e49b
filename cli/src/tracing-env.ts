import { ErrorCode, OnrampError } from "@onramp/errors";
import { Tracing } from "@onramp/telemetry";

/**
 * Tracing as the standard OpenTelemetry variables ask for it (see Tracing.fromEnv), for a process
 * whose spans are named `defaultServiceName` unless OTEL_SERVICE_NAME says otherwise; undefined
 * when no OTLP endpoint is set. A bad variable is an error before anything listens.
 */
export function tracingFromEnv(defaultServiceName: string): Tracing | undefined {
  try {
    return Tracing.fromEnv(defaultServiceName);
  } catch (err) {
    throw new OnrampError(ErrorCode.InvalidArgument, (err as Error).message, { cause: err });
  }
}
