import { type ReflectMessage, reflect } from "@bufbuild/protobuf/reflect";
import { DurationSchema, TimestampSchema, durationFromMs, timestampFromMs } from "@bufbuild/protobuf/wkt";

/**
 * Timestamps and durations for CEL variables, as reflected messages: CEL converts a bare message
 * only during an evaluation (it looks the type up in the evaluation's registry), so one inside a
 * map or list that is turned into text afterwards (`${conn.ts}`, `${res.cookies}`) would fail. A
 * reflected message carries its own descriptor and works everywhere.
 */
export function celTimestamp(ms: number): ReflectMessage {
  return reflect(TimestampSchema, timestampFromMs(ms));
}

export function celDuration(ms: number): ReflectMessage {
  return reflect(DurationSchema, durationFromMs(ms));
}
