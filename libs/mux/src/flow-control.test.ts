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
    // (Drained at 50 bytes/ms from its first byte: two round trips of that, 5000, is under 8×.)
    w.receive(1000, 0);
    expect(w.consume(1000, 20, 50)).toBe(1000 + 7000);
    expect(w.size).toBe(8000);
    w.receive(8000);
    expect(w.consume(8000, 20, 50)).toBe(8000 + 12_000);
    expect(w.size).toBe(20_000);
    w.receive(20_000);
    expect(w.consume(20_000, 30, 50)).toBe(20_000);
    expect(w.size).toBe(20_000);
  });

  it("on its first credit, grows to two round trips of the rate the first bytes drained at", () => {
    const w = new ReceiveWindow(1000, 1_000_000, 0);
    // The first byte comes a round trip after the stream opened; a quarter window drains in 1 ms.
    w.receive(1000, 50);
    expect(w.consume(250, 51, 50)).toBe(250 + 24_000);
    expect(w.size).toBe(25_000);
    // Measured once: later batches grow by the eightfold rule alone.
    w.receive(24_000);
    expect(w.consume(25_000, 52, 50)).toBe(25_000 + 175_000);
    expect(w.size).toBe(200_000);
  });

  it("caps the first credit's growth at the max", () => {
    const w = new ReceiveWindow(1000, 4000, 0);
    w.receive(1000, 50);
    expect(w.consume(1000, 50, 50)).toBe(1000 + 3000);
    expect(w.size).toBe(4000);
  });

  it("does not grow for a consumer that drains its first bytes slowly", () => {
    const w = new ReceiveWindow(1000, 1_000_000, 0);
    w.receive(1000, 60);
    // 250 bytes in 100 ms: two round trips of that rate is 500 bytes, under the initial window.
    expect(w.consume(250, 160, 50)).toBe(250);
    expect(w.size).toBe(1000);
  });

  it("keeps a loan a fast stream earned", () => {
    const w = new ReceiveWindow(1000, 1_000_000, 0);
    w.lend(9000);
    expect(w.size).toBe(10_000);
    // The loan's worth arrives a round trip after opening and a quarter of it drains in 1 ms.
    expect(w.receive(10_000, 50)).toBe(true);
    expect(w.consume(2500, 51, 50)).toBe(2500 + 240_000);
    expect(w.size).toBe(250_000);
    expect(w.lending).toBe(false);
  });

  it("with a loan out, returns the first credit after a quarter of the window without it", () => {
    const w = new ReceiveWindow(1000, 1_000_000, 0);
    w.lend(9000);
    w.receive(10_000, 50);
    expect(w.consume(249, 50.5, 50)).toBe(0);
    // 250 bytes drained in 1 ms: a window of 25,000 at once, 15,000 beyond the loan's.
    expect(w.consume(1, 51, 50)).toBe(250 + 15_000);
    expect(w.size).toBe(25_000);
  });

  it("takes back a loan a slow stream did not earn, when its term is over, out of the credit it is owed", () => {
    const w = new ReceiveWindow(1000, 1_000_000, 0);
    w.lend(9000);
    expect(w.receive(10_000, 50)).toBe(true);
    // 2500 bytes in 1000 ms: the rules give 1000, but the loan runs for 4 round trips more.
    expect(w.consume(2500, 1050, 50)).toBe(2500);
    expect(w.size).toBe(10_000);
    expect(w.lending).toBe(true);
    expect(w.receive(2500)).toBe(true);
    // Term over: the window goes back to 1000 and the 9000 lent are repaid first.
    expect(w.consume(250, 1300, 50)).toBe(0);
    expect(w.size).toBe(1000);
    expect(w.lending).toBe(false);
    expect(w.consume(8500, 1400, 50)).toBe(0);
    // Repaid: from here on, credit as for any stream of that window.
    expect(w.consume(500, 1500, 50)).toBe(250);
    // The sender may have 1000 bytes unconsumed here, no more: 12,500 received, 11,750 consumed, 250 of credit.
    expect(w.receive(250)).toBe(true);
    expect(w.receive(1)).toBe(false);
  });

  it("does not grow for a slow consumer", () => {
    const w = new ReceiveWindow(1000, 4000, 0);
    w.receive(1000);
    expect(w.consume(1000, 500, 50)).toBe(1000);
    expect(w.size).toBe(1000);
  });
});
