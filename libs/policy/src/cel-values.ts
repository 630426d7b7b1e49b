import { type CelValue, isCelError, isCelList, isCelMap, isCelUint } from "@bufbuild/cel";
import { STRING_FORM_KEY } from "./cel-types.js";

/**
 * Conversions of CEL results for the places a policy's values leave CEL: header values and bodies
 * (strings), log metadata (JSON). Timestamps and durations arrive as protobuf reflect messages.
 */

interface ReflectLike {
  desc: { typeName: string };
  message: { seconds: bigint; nanos: number };
}

function wellKnown(v: unknown): ReflectLike | undefined {
  if (typeof v !== "object" || v === null || !("desc" in v) || !("message" in v)) return undefined;
  return v as ReflectLike;
}

function timestampText(m: { seconds: bigint; nanos: number }): string {
  return new Date(Number(m.seconds) * 1000 + Math.floor(m.nanos / 1e6)).toISOString();
}

function durationText(m: { seconds: bigint; nanos: number }): string {
  const nanos = m.nanos === 0 ? "" : `.${String(Math.abs(m.nanos)).padStart(9, "0").replace(/0+$/, "")}`;
  return `${m.seconds}${nanos}s`;
}

/** How a CEL value reads inside a string: `${...}` interpolation uses this. */
export function celToString(v: CelValue | unknown): string {
  if (typeof v === "string") return v;
  if (v === null || v === undefined) return "";
  if (typeof v === "bigint" || typeof v === "boolean") return String(v);
  if (typeof v === "number") return String(v);
  if (v instanceof Uint8Array) return new TextDecoder().decode(v);
  if (isCelUint(v)) return String(v.value);
  const wk = wellKnown(v);
  if (wk?.desc.typeName === "google.protobuf.Timestamp") return timestampText(wk.message);
  if (wk?.desc.typeName === "google.protobuf.Duration") return durationText(wk.message);
  return JSON.stringify(celToJs(v));
}

/** A JSON-safe JS value for log records. Integers beyond 2^53 stay exact as strings. */
export function celToJs(v: CelValue | unknown): unknown {
  if (v === null || v === undefined || typeof v === "string" || typeof v === "boolean") return v ?? null;
  if (typeof v === "number") return Number.isFinite(v) ? v : String(v);
  if (typeof v === "bigint") return Number.isSafeInteger(Number(v)) ? Number(v) : String(v);
  if (v instanceof Uint8Array) return new TextDecoder().decode(v);
  if (isCelUint(v)) return celToJs(v.value);
  if (isCelList(v)) return Array.from(v, (x) => celToJs(x));
  if (isCelMap(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of v) if (k !== STRING_FORM_KEY) out[String(isCelUint(k) ? k.value : k)] = celToJs(x);
    return out;
  }
  if (Array.isArray(v)) return v.map((x) => celToJs(x));
  if (v instanceof Map) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of v) if (k !== STRING_FORM_KEY) out[String(k)] = celToJs(x);
    return out;
  }
  if (isCelError(v)) return `error: ${v.message}`;
  const wk = wellKnown(v);
  if (wk) return celToString(v);
  if (typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = celToJs(x);
    return out;
  }
  return String(v);
}
