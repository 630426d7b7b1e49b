import { SpanKind, Tracing } from "@onramp/telemetry";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOtlpReceiver, type OtlpReceiver } from "./harness/otlp-receiver.js";

// The export thread as a process configures it (Tracing.fromEnv, the built library, its worker
// thread and OpenTelemetry's OTLP/HTTP exporter) against a real receiver: finished spans wait a
// moment in the serving thread to share a message, and nothing is lost to that wait.

let receiver: OtlpReceiver;
const tracings: Tracing[] = [];

beforeAll(async () => {
  receiver = await startOtlpReceiver("http/protobuf");
});

afterAll(async () => {
  await Promise.all(tracings.map((t) => t.shutdown()));
  await receiver.close();
});

function tracing(serviceName: string, env: Record<string, string> = {}): Tracing {
  const t = Tracing.fromEnv(serviceName, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf", ...env });
  if (!t) throw new Error("tracing is off");
  tracings.push(t);
  return t;
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe("the span export thread", () => {
  it("exports a span that ended alone, with no flush, within the batch processor's delay", async () => {
    // The process (here, the test) keeps running; the wait for company must not hold the span back.
    tracing("alone", { OTEL_BSP_SCHEDULE_DELAY: "100" }).start("lonely", SpanKind.SERVER, undefined).end();
    const spans = await receiver.waitFor((s) => s.some((x) => x.service === "alone"), 10_000);
    expect(spans.filter((x) => x.service === "alone").map((x) => x.name)).toEqual(["lonely"]);
  });

  it("delivers on flush every span ended before it, those still waiting to be sent included", async () => {
    // A 60 s batch delay: only the flush can deliver them in time.
    const t = tracing("flushed", { OTEL_BSP_SCHEDULE_DELAY: "60000" });
    for (let i = 0; i < 30; i++) {
      for (let j = 0; j < 10; j++) t.start(`span ${i * 10 + j}`, SpanKind.INTERNAL, undefined).end();
      await turn();
    }
    await t.flush();
    const names = receiver.spans.filter((x) => x.service === "flushed").map((x) => x.name);
    expect(names).toHaveLength(300);
    expect(new Set(names).size).toBe(300);
  });

  it("sends the spans that are waiting when it shuts down", async () => {
    const t = tracing("shut down", { OTEL_BSP_SCHEDULE_DELAY: "60000" });
    for (let i = 0; i < 5; i++) t.start(`last ${i}`, SpanKind.INTERNAL, undefined).end();
    await t.shutdown();
    expect(receiver.spans.filter((x) => x.service === "shut down").map((x) => x.name).sort()).toEqual(["last 0", "last 1", "last 2", "last 3", "last 4"]);
  });
});
