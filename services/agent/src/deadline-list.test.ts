import { afterEach, describe, expect, it, vi } from "vitest";
import { DeadlineList, type DeadlineEntry } from "./deadline-list.js";

function entry(name: string, log: string[]): DeadlineEntry {
  return { deadline: 0, previousDeadline: undefined, nextDeadline: undefined, deadlineArmed: false, expired: () => log.push(name) };
}

describe("DeadlineList", () => {
  afterEach(() => vi.useRealTimers());

  it("expires entries in the order they were added, once each, and never those removed", async () => {
    const list = new DeadlineList(30);
    const log: string[] = [];
    const [a, b, c, d] = ["a", "b", "c", "d"].map((n) => entry(n, log));
    list.add(a!);
    list.add(b!);
    list.add(c!);
    list.remove(b!);
    list.add(d!);
    list.remove(d!);
    expect(list.size).toBe(2);
    await vi.waitFor(() => expect(log).toEqual(["a", "c"]), { timeout: 2_000 });
    expect(list.size).toBe(0);
    expect(a!.deadlineArmed).toBe(false);
  });

  it("re-adding an entry moves its deadline instead of listing it twice", async () => {
    const list = new DeadlineList(20);
    const log: string[] = [];
    const a = entry("a", log);
    list.add(a);
    list.add(a);
    expect(list.size).toBe(1);
    await vi.waitFor(() => expect(log).toEqual(["a"]), { timeout: 2_000 });
  });

  it("keeps expiring after the list empties and fills again, and removing the head lets the next one expire", async () => {
    const list = new DeadlineList(10);
    const log: string[] = [];
    const a = entry("a", log);
    list.add(a);
    list.remove(a);
    const b = entry("b", log);
    const c = entry("c", log);
    list.add(b);
    list.add(c);
    list.remove(b);
    await vi.waitFor(() => expect(log).toEqual(["c"]), { timeout: 2_000 });
    list.add(a);
    await vi.waitFor(() => expect(log).toEqual(["c", "a"]), { timeout: 2_000 });
  });
});
