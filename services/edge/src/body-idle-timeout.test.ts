import { PassThrough } from "node:stream";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { watchBodyIdle } from "./body-idle-timeout.js";

/** A body being read, as the proxy reads one: a `data` listener, pausing under backpressure. */
function readBody(): { body: PassThrough; idle: ReturnType<typeof vi.fn> } {
  const body = new PassThrough();
  const idle = vi.fn();
  watchBodyIdle(body, 1000, idle);
  body.on("data", () => undefined);
  return { body, idle };
}

beforeEach(() => void vi.useFakeTimers());
afterEach(() => void vi.useRealTimers());

describe("watchBodyIdle", () => {
  it("fires once when no piece of the body comes for the timeout", async () => {
    const { idle } = readBody();
    await vi.advanceTimersByTimeAsync(999);
    expect(idle).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(idle).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(5000);
    expect(idle).toHaveBeenCalledTimes(1);
  });

  it("restarts the clock at every piece: a slow but steady body is not cut", async () => {
    const { body, idle } = readBody();
    for (let i = 0; i < 10; i++) {
      await vi.advanceTimersByTimeAsync(900);
      body.write("x");
    }
    expect(idle).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1000);
    expect(idle).toHaveBeenCalledTimes(1);
  });

  it("does not count while the reader holds the body back (a slow upstream)", async () => {
    const { body, idle } = readBody();
    await vi.advanceTimersByTimeAsync(10);
    body.pause();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(idle).not.toHaveBeenCalled();
    body.resume();
    await vi.advanceTimersByTimeAsync(999);
    expect(idle).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(idle).toHaveBeenCalledTimes(1);
  });

  it("stops when the body ends or the request closes", async () => {
    const ended = readBody();
    ended.body.end("last");
    const closed = readBody();
    closed.body.destroy();
    await vi.advanceTimersByTimeAsync(5000);
    expect(ended.idle).not.toHaveBeenCalled();
    expect(closed.idle).not.toHaveBeenCalled();
  });

  it("does nothing when turned off (0)", async () => {
    const body = new PassThrough();
    const idle = vi.fn();
    watchBodyIdle(body, 0, idle);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(idle).not.toHaveBeenCalled();
    expect(body.listenerCount("data")).toBe(0);
  });
});
