import { describe, expect, it } from "vitest";
import { RequestStats } from "./request-stats.js";

const T0 = 1_700_000_000_000;

describe("RequestStats", () => {
  it("starts at zero, with no percentiles until a request finished", () => {
    expect(new RequestStats().counts(T0)).toEqual({ ttl: 0, opn: 0, rt1: 0, rt5: 0, p50: undefined, p90: undefined });
  });

  it("counts every request in ttl and the unfinished ones in opn", () => {
    const stats = new RequestStats();
    stats.started(T0);
    stats.started(T0);
    stats.started(T0);
    stats.ended(10);
    expect(stats.counts(T0)).toMatchObject({ ttl: 3, opn: 2 });
  });

  it("averages requests per second over the last 1 and 5 minutes", () => {
    const stats = new RequestStats();
    // 30 requests in the first second, 30 more two minutes later.
    for (let i = 0; i < 30; i++) stats.started(T0);
    for (let i = 0; i < 30; i++) stats.started(T0 + 120_000);
    const { rt1, rt5 } = stats.counts(T0 + 120_500);
    expect(rt1).toBeCloseTo(30 / 60);
    expect(rt5).toBeCloseTo(60 / 300);
  });

  it("lets requests leave the windows as time passes, without any new request", () => {
    const stats = new RequestStats();
    for (let i = 0; i < 60; i++) stats.started(T0 + i * 1000);
    expect(stats.counts(T0 + 59_999).rt1).toBeCloseTo(1);
    // 30 s later, the first 30 of them are older than a minute.
    expect(stats.counts(T0 + 89_999).rt1).toBeCloseTo(0.5);
    expect(stats.counts(T0 + 89_999).rt5).toBeCloseTo(60 / 300);
    expect(stats.counts(T0 + 60 * 60_000)).toMatchObject({ rt1: 0, rt5: 0, ttl: 60 });
  });

  it("takes p50 and p90 of the durations, in seconds (nearest rank)", () => {
    const stats = new RequestStats();
    for (let ms = 10; ms <= 100; ms += 10) {
      stats.started(T0);
      stats.ended(ms);
    }
    expect(stats.counts(T0)).toMatchObject({ p50: 0.05, p90: 0.09 });
  });

  it("keeps the percentiles to the latest 1024 requests", () => {
    const stats = new RequestStats();
    for (let i = 0; i < 1024; i++) stats.ended(5_000);
    for (let i = 0; i < 1024; i++) stats.ended(20);
    expect(stats.counts(T0)).toMatchObject({ p50: 0.02, p90: 0.02 });
  });
});
