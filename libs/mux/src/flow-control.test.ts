import { describe, expect, it } from "vitest";
import { ReceiveWindow } from "./flow-control.js";

describe("ReceiveWindow", () => {
  it("returns credit in batches of half a window", () => {
    const w = new ReceiveWindow(1000, 8000, 0);
    expect(w.receive(400)).toBe(true);
    expect(w.consume(400, 1000, 0)).toBe(0);
    expect(w.receive(200)).toBe(true);
    expect(w.consume(200, 1000, 0)).toBe(600);
  });

  it("reports a peer that overruns its credit", () => {
    const w = new ReceiveWindow(1000, 8000, 0);
    expect(w.receive(1000)).toBe(true);
    expect(w.receive(1)).toBe(false);
  });

  it("grows while the window, not the consumer, limits throughput, up to the max", () => {
    const w = new ReceiveWindow(1000, 4000, 0);
    // A whole window consumed within one RTT (50 ms): the sender was waiting on credit.
    w.receive(1000);
    expect(w.consume(1000, 10, 50)).toBe(2000);
    expect(w.size).toBe(2000);
    w.receive(2000);
    expect(w.consume(2000, 20, 50)).toBe(4000);
    expect(w.size).toBe(4000);
    w.receive(4000);
    expect(w.consume(4000, 30, 50)).toBe(4000);
    expect(w.size).toBe(4000);
  });

  it("does not grow for a slow consumer", () => {
    const w = new ReceiveWindow(1000, 4000, 0);
    w.receive(1000);
    expect(w.consume(1000, 500, 50)).toBe(1000);
    expect(w.size).toBe(1000);
  });
});
