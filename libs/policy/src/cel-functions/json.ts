import { type CelValue, celList, celMap, isCelList, isCelMap, isCelUint } from "@bufbuild/cel";
import { toJson } from "@bufbuild/protobuf";
import { isReflectMessage } from "@bufbuild/protobuf/reflect";
import { type Duration, DurationSchema, type Timestamp, TimestampSchema } from "@bufbuild/protobuf/wkt";
import { compareCodePoints } from "./codec.js";
import { addWork, CelFunctionLimitError, checkContainer, checkString, MAX_LIST_SIZE, VISIT_UNITS, MAX_NESTING, MAX_STRING_LENGTH, nestedTooDeep, outputTooLong, VisitCounter } from "./limits.js";

/**
 * `json.decode` / `json.encode` and their method forms. Decoded numbers are doubles (as Go's
 * `encoding/json` reads them into `float64`); encoded maps have their keys sorted (as Go's
 * `json.Marshal` writes maps) and bytes are base64, as Go writes `[]byte`.
 */

/** The deepest nesting of `[` and `{` in JSON text, outside strings; linear, no recursion. */
function jsonNesting(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) max = depth;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return max;
}

/** JSON text to a CEL value: objects to maps, arrays to lists, numbers to doubles. */
export function jsonDecode(text: string, fn = "json.decode"): CelValue {
  checkString(fn, text);
  if (jsonNesting(text) > MAX_NESTING) throw nestedTooDeep(fn);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`${fn}: invalid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
  // ~140 ns a value in the worst case (`[0,0,0,...]`): a visit and as much again.
  const visits = new VisitCounter(fn);
  const convert = (v: unknown): CelValue => {
    visits.visit();
    addWork(VISIT_UNITS);
    if (v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean") return v;
    if (Array.isArray(v)) {
      if (v.length > MAX_LIST_SIZE) throw new CelFunctionLimitError(`${fn}: an array has ${v.length.toLocaleString("en-US")} elements, over the limit of ${MAX_LIST_SIZE.toLocaleString("en-US")}`);
      return celList(v.map(convert));
    }
    const entries = Object.entries(v as Record<string, unknown>);
    if (entries.length > MAX_LIST_SIZE) throw new CelFunctionLimitError(`${fn}: an object has ${entries.length.toLocaleString("en-US")} members, over the limit of ${MAX_LIST_SIZE.toLocaleString("en-US")}`);
    const out = new Map<string, CelValue>();
    for (const [k, x] of entries) out.set(k, convert(x));
    return celMap(out);
  };
  return convert(parsed);
}

/** `string.isJson()`: whether the string is one valid JSON value (RFC 8259). */
export function isJson(text: string): boolean {
  checkString("string.isJson", text);
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function keyText(fn: string, k: unknown): string {
  if (typeof k === "string") return k;
  if (typeof k === "bigint" || typeof k === "boolean") return String(k);
  if (isCelUint(k)) return String(k.value);
  throw new Error(`${fn}: unsupported map key`);
}

/**
 * A CEL value as JSON text. Ints and uints are written exactly (beyond 2^53 too); NaN and the
 * infinities are errors (as in Go); timestamps and durations are their protobuf JSON strings.
 */
export function jsonEncode(value: CelValue, fn = "json.encode"): string {
  const visits = new VisitCounter(fn);
  let out = "";
  let length = 0;
  const push = (s: string): void => {
    length += s.length;
    if (length > MAX_STRING_LENGTH) throw outputTooLong(fn);
    out += s; // V8 concatenates into a rope: no copying until the end
  };
  const walk = (v: CelValue, depth: number): void => {
    visits.visit();
    if (depth > MAX_NESTING) throw nestedTooDeep(fn);
    if (v === null) return push("null");
    switch (typeof v) {
      case "string":
        // Cheap refusal first: a string shared by many elements is not escaped again and again.
        if (length + v.length > MAX_STRING_LENGTH) throw outputTooLong(fn);
        return push(JSON.stringify(v));
      case "boolean":
      case "bigint":
        return push(String(v));
      case "number":
        if (!Number.isFinite(v)) throw new Error(`${fn}: unsupported value ${v}`);
        return push(JSON.stringify(v));
    }
    if (isCelUint(v)) return push(String(v.value));
    if (v instanceof Uint8Array) {
      if (length + Math.ceil(v.length / 3) * 4 > MAX_STRING_LENGTH) throw outputTooLong(fn);
      return push(`"${Buffer.from(v.buffer, v.byteOffset, v.length).toString("base64")}"`);
    }
    if (isCelList(v)) {
      checkContainer(fn, v);
      push("[");
      for (let i = 0; i < v.size; i++) {
        if (i > 0) push(",");
        walk(v.get(i)!, depth + 1);
      }
      return push("]");
    }
    if (isCelMap(v)) {
      checkContainer(fn, v);
      const entries = [...v.entries()].map(([k, x]) => [keyText(fn, k), x] as const);
      entries.sort((a, b) => compareCodePoints(a[0], b[0]));
      push("{");
      let first = true;
      for (const [k, x] of entries) {
        if (!first) push(",");
        first = false;
        if (length + k.length > MAX_STRING_LENGTH) throw outputTooLong(fn);
        push(`${JSON.stringify(k)}:`);
        walk(x, depth + 1);
      }
      return push("}");
    }
    if (isReflectMessage(v, TimestampSchema)) return push(JSON.stringify(toJson(TimestampSchema, v.message as Timestamp)));
    if (isReflectMessage(v, DurationSchema)) return push(JSON.stringify(toJson(DurationSchema, v.message as Duration)));
    throw new Error(`${fn}: cannot encode a value of this type as JSON`);
  };
  walk(value, 0);
  return out;
}
