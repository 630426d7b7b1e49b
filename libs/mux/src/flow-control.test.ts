import { describe, expect, it } from "vitest";
import { ReceiveWindow } from "./flow-control.js";

describe("ReceiveWindow", () => {
  it("returns credit in batches of a quarter window", () => {
    const w = new ReceiveWindow(1000, 8000, 0);
    expect(w.receive(200)).toBe(true);
    expect(w.consume(200, 1000, 0)).toBe(0);
    expect(w.receive(100)).toBe(true);
    expect(w.consume(100, 1000, 0)).toBe(300);
  });

  it("reports a peer that overruns its credit", () => {
    const w = new ReceiveWindow(1000, 8000, 0);
    expect(w.receive(1000)).toBe(true);
    expect(w.receive(1)).toBe(false);
  });

  it("grows eightfold while the window, not the consumer, limits throughput, up to the max", () => {
    const w = new ReceiveWindow(1000, 20_000, 0);
    // A whole window consumed within one RTT (50 ms): the sender was waiting on credit.
    w.receive(1000);
    expect(w.consume(1000, 10, 50)).toBe(1000 + 7000);
    expect(w.size).toBe(8000);
    w.receive(8000);
    expect(w.consume(8000, 20, 50)).toBe(8000 + 12_000);
    expect(w.size).toBe(20_000);
    w.receive(20_000);
    expect(w.consume(20_000, 30, 50)).toBe(20_000);
    expect(w.size).toBe(20_000);
  });

  it("does not grow for a slow consumer", () => {
    const w = new ReceiveWindow(1000, 4000, 0);
    w.receive(1000);
    expect(w.consume(1000, 500, 50)).toBe(1000);
    expect(w.size).toBe(1000);
  });
});
