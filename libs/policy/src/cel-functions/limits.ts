import { type CelList, type CelMap, type CelValue, isCelList, isCelMap } from "@bufbuild/cel";

/**
 * Size limits of ngrok's CEL function library (docs/traffic-policy.md, "ngrok's function library"). Every function checks its inputs
 * against them before it does any work, so each call is linear (or n·log n) in inputs no bigger
 * than these, whatever the policy's CEL budget: the meter (cel-meter.ts) charges a call for the
 * top-level size of its inputs and result, which says nothing of nested values or shared
 * references, so the functions bound those themselves.
 */

/** 1 MiB: the longest string (in UTF-16 code units) or byte sequence a function accepts or returns. */
export const MAX_STRING_LENGTH = 1024 * 1024;
/** 10,000: the most elements a list (or entries a map) a function accepts or returns may have. */
export const MAX_LIST_SIZE = 10_000;
/** 64: the deepest nesting of lists and maps `json.decode` builds and `json.encode` walks. */
export const MAX_NESTING = 64;
/**
 * 100,000: the most values one call may visit inside nested lists and maps (`flatten`,
 * `json.encode`, `distinct`, `queryString.encode`), and the most JSON values `json.decode` builds.
 */
export const MAX_VISITED = 100_000;
/**
 * 16 Mi: the most characters and bytes one `sort` or `distinct` may compare or hash, counting a
 * string once per element that holds it (a list can hold the same 1 MiB string 10,000 times).
 */
export const MAX_ELEMENT_CHARS = 16 * 1024 * 1024;

const fmt = (n: number): string => n.toLocaleString("en-US");

/** A call refused because an input (or the result it would build) is over a limit above. */
export class CelFunctionLimitError extends Error {
  override readonly name = "CelFunctionLimitError";
}

export function checkString(fn: string, s: string, what = "input"): string {
  if (s.length > MAX_STRING_LENGTH) {
    throw new CelFunctionLimitError(`${fn}: ${what} is ${fmt(s.length)} characters, over the limit of ${fmt(MAX_STRING_LENGTH)} (1 MiB)`);
  }
  return s;
}

export function checkBytes(fn: string, b: Uint8Array, what = "input"): Uint8Array {
  if (b.length > MAX_STRING_LENGTH) {
    throw new CelFunctionLimitError(`${fn}: ${what} is ${fmt(b.length)} bytes, over the limit of ${fmt(MAX_STRING_LENGTH)} (1 MiB)`);
  }
  return b;
}

export function checkText(fn: string, v: string | Uint8Array, what = "input"): string | Uint8Array {
  return typeof v === "string" ? checkString(fn, v, what) : checkBytes(fn, v, what);
}

export function checkList(fn: string, l: CelList, what = "list"): CelList {
  if (l.size > MAX_LIST_SIZE) {
    throw new CelFunctionLimitError(`${fn}: ${what} has ${fmt(l.size)} elements, over the limit of ${fmt(MAX_LIST_SIZE)}`);
  }
  return l;
}

export function checkMap(fn: string, m: CelMap, what = "map"): CelMap {
  if (m.size > MAX_LIST_SIZE) {
    throw new CelFunctionLimitError(`${fn}: ${what} has ${fmt(m.size)} entries, over the limit of ${fmt(MAX_LIST_SIZE)}`);
  }
  return m;
}

/** Checks a list or map argument; anything else passes. */
export function checkContainer(fn: string, v: unknown): void {
  if (isCelList(v)) checkList(fn, v);
  else if (isCelMap(v)) checkMap(fn, v);
}

/**
 * Work done below the top level of a call's inputs, in the meter's units (~30 ns each), which the
 * meter cannot see: it charges a call for the top-level size of its inputs and result, and a
 * list can hold lists, or the same list many times over. Functions add to it as they go;
 * `takeWork()` returns what was added since it was last called, for the meter to charge after
 * each call (see index.ts). Evaluation is synchronous, so one counter serves every call.
 */
let pendingWork = 0;

export function addWork(units: number): void {
  pendingWork += units;
}

/** The units of work added since the last call, and resets the count. */
export function takeWork(): number {
  const units = pendingWork;
  pendingWork = 0;
  return units;
}

/** Units of work one visit of a nested value costs (~50-120 ns: a lookup, type tests, a push). */
export const VISIT_UNITS = 4;

/**
 * Counts values visited in nested lists and maps, charges them as work, and refuses the call past
 * MAX_VISITED.
 */
export class VisitCounter {
  private count = 0;

  constructor(
    private readonly fn: string,
    private readonly limit = MAX_VISITED,
  ) {}

  visit(n = 1): void {
    this.count += n;
    addWork(n * VISIT_UNITS);
    if (this.count > this.limit) {
      throw new CelFunctionLimitError(`${this.fn}: visits more than ${fmt(this.limit)} nested values`);
    }
  }
}

/** The elements of a list, by index: @bufbuild/cel's list iterators are generators, ~10× slower. */
export function elementsOf(list: CelList): CelValue[] {
  const out = new Array<CelValue>(list.size);
  for (let i = 0; i < out.length; i++) out[i] = list.get(i)!;
  return out;
}

/** Refuses a result string that would be longer than MAX_STRING_LENGTH. */
export function outputTooLong(fn: string): CelFunctionLimitError {
  return new CelFunctionLimitError(`${fn}: the result would be longer than ${fmt(MAX_STRING_LENGTH)} characters (1 MiB)`);
}

/** Refuses a result list that would have more than MAX_LIST_SIZE elements. */
export function outputTooBig(fn: string): CelFunctionLimitError {
  return new CelFunctionLimitError(`${fn}: the result would have more than ${fmt(MAX_LIST_SIZE)} elements`);
}

export function nestedTooDeep(fn: string): CelFunctionLimitError {
  return new CelFunctionLimitError(`${fn}: values are nested more than ${MAX_NESTING} levels deep`);
}
