import { type CelList, celList, celMap, celUint, isCelList } from "@bufbuild/cel";
import { describe, expect, it } from "vitest";
import { MAX_LIST_SIZE } from "./limits.js";
import { listDistinct, listFlatten, listSlice, listSort, listSortByKeys, listsRange } from "./lists.js";

const js = (l: CelList): unknown[] => [...l].map((x) => (isCelList(x) ? js(x) : x));
const L = (...xs: unknown[]): CelList => celList(xs as never);

describe("slice", () => {
  it("matches ngrok's examples and refuses bad indexes", () => {
    expect(js(listSlice(L(1n, 2n, 3n, 4n), 1n, 3n))).toEqual([2n, 3n]);
    expect(js(listSlice(L(1n, 2n, 3n, 4n), 2n, 4n))).toEqual([3n, 4n]);
    expect(js(listSlice(L(1n), 1n, 1n))).toEqual([]);
    expect(() => listSlice(L(1n), -1n, 1n)).toThrow(/negative/);
    expect(() => listSlice(L(1n), 1n, 0n)).toThrow(/start index/);
    expect(() => listSlice(L(1n), 0n, 2n)).toThrow(/list is length 1/);
  });
});

describe("flatten", () => {
  it("matches ngrok's examples", () => {
    expect(js(listFlatten(L(1n, L(2n, 3n), L(4n))))).toEqual([1n, 2n, 3n, 4n]);
    expect(js(listFlatten(L(1n, L(2n, L(3n, 4n)))))).toEqual([1n, 2n, [3n, 4n]]);
    expect(js(listFlatten(L(1n, 2n, L(), L(), L(3n, 4n))))).toEqual([1n, 2n, 3n, 4n]);
    expect(js(listFlatten(L(1n, L(2n, L(3n, L(4n)))), 2n))).toEqual([1n, 2n, 3n, [4n]]);
    expect(js(listFlatten(L(1n, L(2n)), 0n))).toEqual([1n, [2n]]);
    expect(() => listFlatten(L(1n), -1n)).toThrow(/non-negative/);
  });

  it("refuses results over the list limit and walks over the visit limit", () => {
    const half = L(...Array.from({ length: 6000 }, (_, i) => BigInt(i)));
    expect(() => listFlatten(L(half, half))).toThrow(/more than 10,000 elements/);
    const empties = L(...Array.from({ length: 1000 }, () => L()));
    expect(() => listFlatten(L(...Array.from({ length: 1000 }, () => empties)), 5n)).toThrow(/visits more than/);
  });
});

describe("sort", () => {
  it("sorts comparable elements of one type", () => {
    expect(js(listSort(L(3n, 2n, 1n)))).toEqual([1n, 2n, 3n]);
    expect(js(listSort(L("b", "c", "a")))).toEqual(["a", "b", "c"]);
    expect(js(listSort(L(2.5, -1, 0)))).toEqual([-1, 0, 2.5]);
    expect(js(listSort(L(true, false)))).toEqual([false, true]);
    expect(js(listSort(L("😀", "\uffff", "a")))).toEqual(["a", "\uffff", "😀"]);
    expect([...listSort(L(celUint(3n), celUint(1n)))].map((x) => (x as { value: bigint }).value)).toEqual([1n, 3n]);
    expect(js(listSort(L(new Uint8Array([2]), new Uint8Array([1, 9]))))).toEqual([new Uint8Array([1, 9]), new Uint8Array([2])]);
    expect(js(listSort(L()))).toEqual([]);
  });

  it("refuses mixed or incomparable elements", () => {
    expect(() => listSort(L(1n, "b"))).toThrow(/same type/);
    expect(() => listSort(L(L(1n, 2n, 3n)))).toThrow(/comparable type/);
    expect(() => listSort(L(1, Number.NaN))).toThrow(/NaN/);
  });

  it("refuses lists over 10,000 elements and sorts 10,000 in well under a second", () => {
    expect(() => listSort(listsRangeOf(MAX_LIST_SIZE + 1))).toThrow(/over the limit of 10,000/);
    const strings = L(...Array.from({ length: MAX_LIST_SIZE }, (_, i) => `k${(i * 7919) % MAX_LIST_SIZE}`));
    const started = performance.now();
    expect(listSort(strings).size).toBe(MAX_LIST_SIZE);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it("sorts by associated keys (sortBy's run-time half)", () => {
    const players = L("foo", "bar", "baz");
    expect(js(listSortByKeys(players, L(0n, -10n, 1000n)))).toEqual(["bar", "foo", "baz"]);
    expect(() => listSortByKeys(players, L(1n))).toThrow(/3 elements but 1 keys/);
  });
});

function listsRangeOf(n: number): CelList {
  return celList(Array.from({ length: n }, (_, i) => BigInt(i)));
}

describe("distinct", () => {
  it("keeps first occurrences by CEL equality", () => {
    expect(js(listDistinct(L(1n, 2n, 2n, 3n, 3n, 3n)))).toEqual([1n, 2n, 3n]);
    expect(js(listDistinct(L("b", "b", "c", "a", "c")))).toEqual(["b", "c", "a"]);
    expect(js(listDistinct(L(1n, "b", 2n, "b")))).toEqual([1n, "b", 2n]);
    expect(js(listDistinct(L(1n, 1.0, celUint(1n), 1.5, 1.5)))).toEqual([1n, 1.5]);
    expect(js(listDistinct(L(L(1n, 2n), L(1n, 2n), L(2n, 1n))))).toEqual([[1n, 2n], [2n, 1n]]);
    const m1 = celMap(new Map([["a", 1n], ["b", 2n]]));
    const m2 = celMap(new Map([["b", 2n], ["a", 1n]]));
    expect(listDistinct(L(m1, m2)).size).toBe(1);
    expect(listDistinct(L(Number.NaN, Number.NaN)).size).toBe(2);
  });

  it("bounds the characters it hashes for nested values", () => {
    const big = "x".repeat(1 << 20);
    expect(listDistinct(L(...Array.from({ length: MAX_LIST_SIZE }, () => big))).size).toBe(1); // strings: hashed once each
    expect(() => listDistinct(L(...Array.from({ length: 100 }, () => L(big))))).toThrow(/more than 16,777,216 characters/);
  });
});

describe("lists.range", () => {
  it("returns 0..n-1, bounded", () => {
    expect(js(listsRange(5n))).toEqual([0n, 1n, 2n, 3n, 4n]);
    expect(js(listsRange(0n))).toEqual([]);
    expect(js(listsRange(-3n))).toEqual([]);
    expect(listsRange(10_000n).size).toBe(10_000);
    expect(() => listsRange(10_001n)).toThrow(/over the limit of 10,000/);
  });
});
