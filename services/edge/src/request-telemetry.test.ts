import { decodeRequestHead, encodeResponseHead } from "@onramp/mux";
import { createEdgeMetrics, createLogger, silentLogger, Tracing } from "@onramp/telemetry";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { parseEndpointUrl } from "./endpoint-url.js";
import { fakeAgentConnection, type FakeAgentBehaviour } from "./fake-agent.js";
import { HttpProxy } from "./http-proxy.js";
import { RequestTelemetry } from "./request-telemetry.js";
import { RoutingTable, type Member } from "./routing-table.js";

const closers: Array<() => void> = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
  vi.unstubAllEnvs();
});

/** Answers with the traceparent the edge put in the request head, so tests can see the links. */
const echoTraceparent: FakeAgentBehaviour = (stream, head) => {
  const req = decodeRequestHead(head);
  stream.sendHead(encodeResponseHead({ status: 201, statusText: "Created", headers: ["x-traceparent", req.traceparent], body: Buffer.from("hello") }), true);
};

async function edgeWith(tracing: Tracing | undefined) {
  const dir = mkdtempSync(join(tmpdir(), "onramp-access-log-"));
  closers.push(() => rmSync(dir, { recursive: true, force: true }));
  const logFile = join(dir, "edge.log");
  const logger = createLogger({ destination: { file: logFile }, format: "json", name: "edge" });
  const table = new RoutingTable("eu");
  const agent = await fakeAgentConnection(echoTraceparent);
  closers.push(agent.close);
  const member: Member = { id: "m0", bindId: "b0", edge: "edge-a", region: "eu", agentId: "agent-1", sessionId: "s0", upstream: "", local: true, policy: undefined, opener: () => agent.connection };
  table.addMember(parseEndpointUrl("http://app.test"), false, member);
  const metrics = createEdgeMetrics();
  const telemetry = new RequestTelemetry(metrics, logger, tracing, "eu", { accessLog: true });
  telemetry.edgeId = "edge-a";
  const proxy = new HttpProxy(table, { maxRequestBodyBytes: 1 << 20, inlineBodyBytes: 16 * 1024 }, telemetry, silentLogger());
  const server: Server = createServer((req, res) => proxy.handle(req, res, false));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  closers.push(() => server.close());
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const lines = async (count: number) => {
    for (let i = 0; i < 200; i++) {
      await new Promise<void>((r) => logger.flush(() => r()));
      const all = readFileSync(logFile, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
      const requests = all.filter((l) => l.msg === "request");
      if (requests.length >= count) return requests;
      await new Promise((r) => setImmediate(r));
    }
    throw new Error("no access-log line written");
  };
  return { base, metrics, lines };
}

function send(base: string, host: string, headers: Record<string, string> = {}, body?: string): Promise<{ status: number; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/items?q=1`, { method: body ? "POST" : "GET", headers: { host, ...headers }, agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("the edge's access log and per-endpoint metrics", () => {
  it("writes one line per request with endpoint, member, bytes and status, and counts it by endpoint", async () => {
    const edge = await edgeWith(undefined);
    expect((await send(edge.base, "app.test", { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" }, "payload")).status).toBe(201);
    expect((await send(edge.base, "nobody.test")).status).toBe(404);
    const [ok, missing] = await edge.lines(2);
    expect(ok).toMatchObject({
      method: "POST",
      host: "app.test",
      path: "/items?q=1",
      status: 201,
      bytes_in: 7,
      bytes_out: 5,
      edge: "edge-a",
      region: "eu",
      endpoint: "http://app.test",
      member: "agent-1",
      attempts: 1,
      // Without tracing the client's trace id is still logged, so logs and traces meet.
      trace_id: "0af7651916cd43dd8448eb211c80319c",
      completed: true,
    });
    expect(ok!.error_code).toBeUndefined();
    expect(missing).toMatchObject({ host: "nobody.test", status: 404, error_code: "ENDPOINT_NOT_FOUND" });
    const counts = (await edge.metrics.requests.get()).values.map((v) => ({ ...v.labels, value: v.value }));
    expect(counts).toContainEqual({ endpoint: "http://app.test", code: 201, error_code: "", value: 1 });
    expect(counts).toContainEqual({ endpoint: "", code: 404, error_code: "ENDPOINT_NOT_FOUND", value: 1 });
  });

  it("traces the request under the client's span and sends the attempt's span to the agent in the head", async () => {
    const exporter = new InMemorySpanExporter();
    const tracing = Tracing.withExporter({ protocol: "http/json", endpoint: "", serviceName: "onramp-edge" }, exporter);
    closers.push(() => void tracing.shutdown());
    const edge = await edgeWith(tracing);
    const answer = await send(edge.base, "app.test", { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" });
    await edge.lines(1);
    await tracing.flush();
    const spans = exporter.getFinishedSpans();
    const server = spans.find((s) => s.name === "GET")!;
    const attempt = spans.find((s) => s.name === "forward")!;
    expect(server.spanContext().traceId).toBe("0af7651916cd43dd8448eb211c80319c");
    expect(server.parentSpanContext?.spanId).toBe("b7ad6b7169203331");
    expect(server.attributes).toMatchObject({ "http.request.method": "GET", "url.path": "/items", "url.query": "q=1", "server.address": "app.test", "http.response.status_code": 201, "onramp.edge.id": "edge-a", "onramp.region": "eu", "onramp.endpoint.url": "http://app.test", "onramp.pool.member": "agent-1" });
    expect(attempt.parentSpanContext?.spanId).toBe(server.spanContext().spanId);
    expect(answer.headers["x-traceparent"]).toBe(`00-0af7651916cd43dd8448eb211c80319c-${attempt.spanContext().spanId}-01`);
  });

  it("records nothing for an unsampled request and passes its trace on to the agent with flags 00, logged under the same id", async () => {
    vi.stubEnv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio");
    vi.stubEnv("OTEL_TRACES_SAMPLER_ARG", "0");
    const exporter = new InMemorySpanExporter();
    const tracing = Tracing.withExporter({ protocol: "http/json", endpoint: "", serviceName: "onramp-edge" }, exporter);
    closers.push(() => void tracing.shutdown());
    const edge = await edgeWith(tracing);
    // The client's unsampled trace goes on as it came (this edge records no span to be its parent).
    const clientParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";
    const continued = await send(edge.base, "app.test", { traceparent: clientParent });
    // No traceparent from the client: a new trace, not sampled at ratio 0, still propagated.
    const started = await send(edge.base, "app.test");
    const [first, second] = await edge.lines(2);
    await tracing.flush();
    expect(exporter.getFinishedSpans()).toEqual([]);
    expect(continued.headers["x-traceparent"]).toBe(clientParent);
    expect(first!.trace_id).toBe("0af7651916cd43dd8448eb211c80319c");
    const propagated = /^00-([0-9a-f]{32})-([0-9a-f]{16})-00$/.exec(String(started.headers["x-traceparent"]));
    expect(propagated).not.toBeNull();
    expect(propagated![1]).not.toBe("0".repeat(32));
    expect(propagated![2]).not.toBe("0".repeat(16));
    expect(second!.trace_id).toBe(propagated![1]);
  });
});
