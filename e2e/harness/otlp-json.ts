// ---- OTLP/JSON (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding) ----

import type { AttributeValue, ReceivedSpan } from "./otlp-receiver.js";

/** OTLP/JSON: lowerCamelCase keys, ids as hex (base64 too, as generic protobuf-JSON writes bytes), enums as integers, int64 as strings or numbers. */
export function decodeJsonRequest(body: Buffer): ReceivedSpan[] {
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

// ---- shared with the protobuf decoder (otlp-protobuf.ts) ----

export function origin(resource: Record<string, AttributeValue>, scope: string): Pick<ReceivedSpan, "service" | "resource" | "scope"> {
  const service = resource["service.name"];
  return { service: typeof service === "string" ? service : "", resource, scope };
}

export function statusOf(code: number, message: string): ReceivedSpan["status"] {
  return message ? { code, message } : { code };
}

/** A span without a trace or span id is invalid (trace.proto: "This field is required"). */
export function checked(span: ReceivedSpan): ReceivedSpan {
  if (!span.traceId || !span.spanId) throw new Error(`span ${JSON.stringify(span.name)} lacks a trace_id or span_id`);
  return span;
}
