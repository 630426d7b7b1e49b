import { type CelList, type CelValue, celList, isCelList, isCelMap, isCelUint } from "@bufbuild/cel";
import { isReflectMessage } from "@bufbuild/protobuf/reflect";
import { DurationSchema, TimestampSchema } from "@bufbuild/protobuf/wkt";
import { compareCodePoints } from "./codec.js";
import {
  addWork,
  CelFunctionLimitError,
  checkList,
  elementsOf,
  MAX_ELEMENT_CHARS,
  MAX_LIST_SIZE,
  MAX_NESTING,
  nestedTooDeep,
  outputTooBig,
  VisitCounter,
} from "./limits.js";

/**
 * The list helpers of ngrok's reference (cel-go's lists extension): `slice`, `flatten`, `sort`,
 * `distinct`, `lists.range`, and the run-time half of `sortBy`. Inputs are limited to
 * MAX_LIST_SIZE elements; sort is n·log n, the rest linear.
 */

const fmt = (n: number): string => n.toLocaleString("en-US");

/** `list.slice(start, end)`: elements start..end-1; indexes must satisfy 0 <= start <= end <= size. */
export function listSlice(list: CelList, start: bigint, end: bigint): CelList {
  checkList("list.slice", list);
  if (start < 0n || end < 0n) throw new Error(`list.slice: cannot slice(${start}, ${end}), negative indexes not supported`);
  if (start > end) throw new Error(`list.slice: cannot slice(${start}, ${end}), start index must be less than or equal to end index`);
  if (end > BigInt(list.size)) throw new Error(`list.slice: cannot slice(${start}, ${end}), list is length ${list.size}`);
  const out: CelValue[] = [];
  for (let i = Number(start); i < Number(end); i++) out.push(list.get(i)!);
  return celList(out);
}

/** `list.flatten(depth)`: nested lists spliced in, `depth` levels deep (1 by default). */
export function listFlatten(list: CelList, depth = 1n): CelList {
  const fn = "list.flatten";
  checkList(fn, list);
  if (depth < 0n) throw new Error(`${fn}: level must be non-negative`);
  const levels = depth > BigInt(MAX_NESTING) ? MAX_NESTING + 1 : Number(depth);
  const visits = new VisitCounter(fn);
  const out: CelValue[] = [];
  // An explicit stack of (list, next index): no recursion, however deep the lists nest.
  const lists: CelList[] = [list];
  const indexes: number[] = [0];
  while (lists.length > 0) {
    const top = lists.length - 1;
    const current = lists[top]!;
    const i = indexes[top]!;
    if (i >= current.size) {
      lists.pop();
      indexes.pop();
      continue;
    }
    indexes[top] = i + 1;
    visits.visit();
    const v = current.get(i)!;
    if (isCelList(v) && lists.length <= levels) {
      if (lists.length > MAX_NESTING) throw nestedTooDeep(fn);
      lists.push(v);
      indexes.push(0);
      continue;
    }
    if (out.length === MAX_LIST_SIZE) throw outputTooBig(fn);
    out.push(v);
  }
  return celList(out);
}

/** `lists.range(n)`: [0, 1, ..., n-1]; empty for n <= 0. */
export function listsRange(n: bigint): CelList {
  if (n > BigInt(MAX_LIST_SIZE)) {
    throw new CelFunctionLimitError(`lists.range: ${n} elements, over the limit of ${fmt(MAX_LIST_SIZE)}`);
  }
  const out: bigint[] = [];
  for (let i = 0n; i < n; i++) out.push(i);
  return celList(out);
}

// ---- ordering ---------------------------------------------------------------------------------

type SortKind = "int" | "uint" | "double" | "bool" | "string" | "bytes" | "timestamp" | "duration";

function sortKind(v: CelValue): SortKind | undefined {
  switch (typeof v) {
    case "bigint":
      return "int";
    case "number":
      return "double";
    case "boolean":
      return "bool";
    case "string":
      return "string";
  }
  if (isCelUint(v)) return "uint";
  if (v instanceof Uint8Array) return "bytes";
  if (isReflectMessage(v, TimestampSchema)) return "timestamp";
  if (isReflectMessage(v, DurationSchema)) return "duration";
  return undefined;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  if (a === b) return 0;
  return Buffer.compare(a, b);
}

interface SecondsNanos {
  seconds: bigint;
  nanos: number;
}

function secondsNanos(v: CelValue): SecondsNanos {
  return (v as unknown as { message: SecondsNanos }).message;
}

const ABOVE_D800 = /[\ud800-\uffff]/;

/**
 * The comparator for a list whose elements are all of one comparable type (as cel-go's `sort`
 * requires); counts the characters and bytes it will compare against MAX_ELEMENT_CHARS.
 */
function comparatorFor(fn: string, values: readonly CelValue[], what = "list elements"): (a: CelValue, b: CelValue) => number {
  if (values.length === 0) return () => 0;
  const kind = sortKind(values[0]!);
  if (kind === undefined) throw new Error(`${fn}: ${what} must be of a comparable type (int, uint, double, bool, string, bytes, timestamp, duration)`);
  let chars = 0;
  let astral = false;
  for (const v of values) {
    if (sortKind(v) !== kind) throw new Error(`${fn}: ${what} must all be of the same type`);
    if (typeof v === "number" && Number.isNaN(v)) throw new Error(`${fn}: cannot order NaN`);
    if (typeof v === "string") {
      chars += v.length;
      if (!astral && ABOVE_D800.test(v)) astral = true;
    } else if (v instanceof Uint8Array) chars += v.length;
    if (chars > MAX_ELEMENT_CHARS) {
      throw new CelFunctionLimitError(`${fn}: the elements hold more than ${fmt(MAX_ELEMENT_CHARS)} characters in all`);
    }
  }
  addWork(Math.ceil(chars / 4)); // strings and bytes are read at least once, as the meter charges them
  switch (kind) {
    case "int":
    case "double":
      return (a, b) => ((a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0);
    case "uint":
      return (a, b) => {
        const x = (a as { value: bigint }).value;
        const y = (b as { value: bigint }).value;
        return x < y ? -1 : x > y ? 1 : 0;
      };
    case "bool":
      return (a, b) => Number(a) - Number(b);
    case "string":
      // UTF-16 order is code point order unless a string holds a surrogate or U+E000..U+FFFF.
      return astral ? (a, b) => compareCodePoints(a as string, b as string) : (a, b) => ((a as string) < (b as string) ? -1 : a === b ? 0 : 1);
    case "bytes":
      return (a, b) => compareBytes(a as Uint8Array, b as Uint8Array);
    case "timestamp":
    case "duration":
      return (a, b) => {
        const x = secondsNanos(a);
        const y = secondsNanos(b);
        return x.seconds !== y.seconds ? (x.seconds < y.seconds ? -1 : 1) : x.nanos - y.nanos;
      };
  }
}

/** n·log2(n) comparisons at ~30 ns (one unit) each. */
function sortUnits(n: number): number {
  return n * Math.ceil(Math.log2(n + 1));
}

/** `list.sort()`: ascending; the elements must all be of one comparable type. Stable. */
export function listSort(list: CelList): CelList {
  const fn = "list.sort";
  checkList(fn, list);
  const values = elementsOf(list);
  addWork(sortUnits(values.length));
  return celList(values.sort(comparatorFor(fn, values)));
}

/**
 * cel-go's `list.@sortByAssociatedKeys(keys)`: `list` ordered by `keys` (one per element).
 * Onramp's `sortBy` expands to `@sortByPairs` instead (cel-sort-by.ts, listSortByPairs below).
 */
export function listSortByKeys(list: CelList, keys: CelList): CelList {
  const fn = "list.sortBy";
  checkList(fn, list);
  checkList(fn, keys, "key list");
  if (keys.size !== list.size) throw new Error(`${fn}: ${list.size} elements but ${keys.size} keys`);
  const keyValues = elementsOf(keys);
  const compare = comparatorFor(fn, keyValues);
  const values = elementsOf(list);
  const order = values.map((_, i) => i);
  addWork(sortUnits(values.length));
  order.sort((i, j) => compare(keyValues[i]!, keyValues[j]!));
  return celList(order.map((i) => values[i]!));
}

/**
 * The run-time half of `list.sortBy(x, key)` (cel-sort-by.ts): `pairs` is `[[element, key], …]`;
 * returns the elements ordered by key, stably. The keys must all be of one comparable type.
 */
export function listSortByPairs(pairs: CelList): CelList {
  const fn = "list.sortBy";
  checkList(fn, pairs);
  const entries = elementsOf(pairs) as CelList[];
  const values = entries.map((p) => p.get(0)!);
  const keys = entries.map((p) => p.get(1)!);
  const compare = comparatorFor(fn, keys, "keys");
  const order = values.map((_, i) => i);
  addWork(sortUnits(values.length));
  order.sort((i, j) => compare(keys[i]!, keys[j]!));
  return celList(order.map((i) => values[i]!));
}

// ---- distinct ---------------------------------------------------------------------------------

/**
 * A string that two values share exactly when CEL's `==` holds between them (1, 1u and 1.0 are
 * equal), for lists, maps, timestamps and durations; counts its length against `budget`.
 */
function canonicalKey(fn: string, v: CelValue, visits: VisitCounter, depth: number, budget: { chars: number }): string {
  visits.visit();
  if (depth > MAX_NESTING) throw nestedTooDeep(fn);
  const spend = (s: string): string => {
    budget.chars += s.length;
    if (budget.chars > MAX_ELEMENT_CHARS) {
      throw new CelFunctionLimitError(`${fn}: the elements hold more than ${fmt(MAX_ELEMENT_CHARS)} characters in all`);
    }
    return s;
  };
  if (v === null) return "z";
  switch (typeof v) {
    case "boolean":
      return v ? "t" : "f";
    case "bigint":
      return `n${v}`;
    case "number":
      return Number.isInteger(v) ? `n${BigInt(v)}` : `d${v}`;
    case "string":
      return spend(JSON.stringify(v));
  }
  if (isCelUint(v)) return `n${v.value}`;
  if (v instanceof Uint8Array) return spend(`b${Buffer.from(v.buffer, v.byteOffset, v.length).toString("base64")}`);
  if (isCelList(v)) {
    const parts: string[] = [];
    for (let i = 0; i < v.size; i++) parts.push(canonicalKey(fn, v.get(i)!, visits, depth + 1, budget));
    return `[${parts.join(",")}]`;
  }
  if (isCelMap(v)) {
    const parts: string[] = [];
    for (const [k, x] of v) parts.push(`${canonicalKey(fn, k as CelValue, visits, depth + 1, budget)}:${canonicalKey(fn, x, visits, depth + 1, budget)}`);
    return `{${parts.sort().join(",")}}`;
  }
  if (isReflectMessage(v, TimestampSchema)) return `T${secondsNanos(v).seconds}.${secondsNanos(v).nanos}`;
  if (isReflectMessage(v, DurationSchema)) return `D${secondsNanos(v).seconds}.${secondsNanos(v).nanos}`;
  throw new Error(`${fn}: cannot compare elements of this type`);
}

/**
 * `list.distinct()`: the first occurrence of each value, in order, by CEL equality. Strings are
 * looked up directly (V8 hashes each string object once); other values by a canonical key.
 */
export function listDistinct(list: CelList): CelList {
  const fn = "list.distinct";
  checkList(fn, list);
  const visits = new VisitCounter(fn);
  const budget = { chars: 0 };
  const strings = new Set<string>();
  const numbers = new Set<bigint>();
  const doubles = new Set<number>();
  const others = new Set<string>();
  const out: CelValue[] = [];
  const values = elementsOf(list);
  addWork(values.length);
  for (const v of values) {
    let fresh: boolean;
    if (typeof v === "string") {
      fresh = !strings.has(v);
      if (fresh) strings.add(v);
    } else if (typeof v === "bigint" || isCelUint(v) || (typeof v === "number" && Number.isInteger(v))) {
      const n = typeof v === "bigint" ? v : typeof v === "number" ? BigInt(v) : v.value;
      fresh = !numbers.has(n);
      if (fresh) numbers.add(n);
    } else if (typeof v === "number") {
      fresh = Number.isNaN(v) || !doubles.has(v); // NaN equals nothing, itself included
      if (fresh) doubles.add(v);
    } else {
      const key = canonicalKey(fn, v, visits, 0, budget);
      fresh = !others.has(key);
      if (fresh) others.add(key);
    }
    if (fresh) out.push(v);
  }
  return celList(out);
}
