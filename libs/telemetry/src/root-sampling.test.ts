import { ROOT_CONTEXT, SpanKind } from "@opentelemetry/api";
import { InMemorySpanExporter, SamplingDecision, TraceIdRatioBasedSampler } from "@opentelemetry/sdk-trace-base";
import { afterEach, describe, expect, it, vi } from "vitest";
import { TraceIds, accumulate, samplingPlan } from "./root-sampling.js";
import { Tracing, traceparentOf } from "./tracing.js";

describe("samplingPlan", () => {
  it("reads OTEL_TRACES_SAMPLER[_ARG] as the spec does", () => {
    expect(samplingPlan({})).toMatchObject({ parentBased: true, rootUpperBound: undefined });
    expect(samplingPlan({ OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.01" })).toMatchObject({
      parentBased: true,
      rootUpperBound: Math.floor(0.01 * 0xffffffff),
    });
    expect(samplingPlan({ OTEL_TRACES_SAMPLER: "traceidratio" })).toMatchObject({ parentBased: false, rootUpperBound: undefined });
    expect(samplingPlan({ OTEL_TRACES_SAMPLER: "TraceIdRatio", OTEL_TRACES_SAMPLER_ARG: "x" })).toMatchObject({ rootUpperBound: undefined });
    expect(samplingPlan({ OTEL_TRACES_SAMPLER: "always_off" })).toMatchObject({ parentBased: false, rootUpperBound: 0 });
    expect(samplingPlan({ OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "-3" })).toMatchObject({ rootUpperBound: 0 });
  });

  it("names the variable when the sampler is unknown", () => {
    expect(() => samplingPlan({ OTEL_TRACES_SAMPLER: "jaeger_remote" })).toThrow(/OTEL_TRACES_SAMPLER=jaeger_remote .* parentbased_traceidratio/);
  });
});

describe("the decision for a new trace", () => {
  it("is the SDK's TraceIdRatioBasedSampler decision, id for id", () => {
    const ids = new TraceIds();
    for (const ratio of [0.01, 0.3, 0.5]) {
      const sdk = new TraceIdRatioBasedSampler(ratio);
      const bound = samplingPlan({ OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: String(ratio) }).rootUpperBound!;
      for (let i = 0; i < 2_000; i++) {
        const traceId = ids.traceId();
        const sampled = sdk.shouldSample(ROOT_CONTEXT, traceId).decision === SamplingDecision.RECORD_AND_SAMPLED;
        expect(accumulate(traceId) < bound).toBe(sampled);
      }
    }
  });

  it("gives valid, distinct ids", () => {
    const ids = new TraceIds();
    const seen = new Set<string>();
    for (let i = 0; i < 1_000; i++) {
      const traceId = ids.traceId();
      expect(traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(ids.spanId()).toMatch(/^[0-9a-f]{16}$/);
      seen.add(traceId);
    }
    expect(seen.size).toBe(1_000);
  });
});

describe("Tracing.start for a new trace", () => {
  const settings = { protocol: "http/json" as const, endpoint: "", serviceName: "test" };
  afterEach(() => vi.unstubAllEnvs());

  it("records about the ratio of new traces, and passes an unsampled trace on with its flags at 00", async () => {
    vi.stubEnv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio");
    vi.stubEnv("OTEL_TRACES_SAMPLER_ARG", "0.25");
    const exporter = new InMemorySpanExporter();
    const tracing = Tracing.withExporter(settings, exporter);
    let recorded = 0;
    for (let i = 0; i < 4_000; i++) {
      const span = tracing.start("GET", SpanKind.SERVER, undefined);
      const tp = traceparentOf(span);
      expect(tp).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
      expect(tp.endsWith("-01")).toBe(span.isRecording());
      // A kept trace is recorded under the id the decision was made on.
      if (span.isRecording()) {
        recorded++;
        expect(accumulate(span.spanContext().traceId)).toBeLessThan(Math.floor(0.25 * 0xffffffff));
      }
      span.end();
    }
    // 1,000 expected; the binomial's standard deviation is about 27.
    expect(recorded).toBeGreaterThan(850);
    expect(recorded).toBeLessThan(1_150);
    await tracing.flush();
    expect(exporter.getFinishedSpans()).toHaveLength(recorded);
    await tracing.shutdown();
  });

  it("records every new trace with always_on, and none with always_off", async () => {
    for (const [sampler, expected] of [["parentbased_always_on", 20], ["always_off", 0]] as const) {
      vi.stubEnv("OTEL_TRACES_SAMPLER", sampler);
      const exporter = new InMemorySpanExporter();
      const tracing = Tracing.withExporter(settings, exporter);
      for (let i = 0; i < 20; i++) tracing.start("GET", SpanKind.SERVER, undefined).end();
      await tracing.flush();
      expect(exporter.getFinishedSpans()).toHaveLength(expected);
      await tracing.shutdown();
    }
  });
});

describe("TraceIds.drawRoot", () => {
  it("returns accumulate() of the trace id that rootTraceparent() and rootTraceId() then give, with flags 00", () => {
    const ids = new TraceIds();
    const seen = new Set<string>();
    for (let i = 0; i < 1_000; i++) {
      const value = ids.drawRoot();
      const tp = ids.rootTraceparent();
      expect(tp).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-00$/);
      expect(ids.rootTraceId()).toBe(tp.slice(3, 35));
      expect(ids.rootSpanId()).toBe(tp.slice(36, 52));
      expect(value).toBe(accumulate(tp.slice(3, 35)));
      seen.add(tp);
    }
    expect(seen.size).toBe(1_000);
  });
});
