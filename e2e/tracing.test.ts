import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, send } from "./harness/http-client.js";
import { startMesh, startMeshAgent, type Mesh, type MeshEdge } from "./harness/mesh.js";
import { startOtlpReceiver, type OtlpProtocol, type OtlpReceiver, type ReceivedSpan } from "./harness/otlp-receiver.js";
import { startOnramp, stopAll } from "./harness/processes.js";
import { startUpstream, type Upstream } from "./harness/upstream.js";

// Edges and agents export spans to a real OTLP receiver, configured only by the standard
// OTEL_* variables: one trace id from the client through edge → relay → edge → agent → upstream.

const CLIENT_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN = "00f067aa0ba902b7";
const SERVER = 2;
const CLIENT = 3;

const otel = (receiver: OtlpReceiver, protocol: OtlpProtocol): Record<string, string> => ({
  OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
  OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
  OTEL_TRACES_SAMPLER: "parentbased_always_on",
  // The SDK's batch processor waits up to 5 s by default; a test need not.
  OTEL_BSP_SCHEDULE_DELAY: "100",
});

const upstreams: Upstream[] = [];
const receivers: OtlpReceiver[] = [];

afterAll(async () => {
  await stopAll();
  await Promise.all([...upstreams.map((u) => u.close()), ...receivers.map((r) => r.close())]);
});

async function receiver(protocol: OtlpProtocol): Promise<OtlpReceiver> {
  const r = await startOtlpReceiver(protocol);
  receivers.push(r);
  return r;
}

async function upstream(name: string): Promise<Upstream> {
  const u = await startUpstream(name);
  upstreams.push(u);
  return u;
}

const inTrace = (spans: readonly ReceivedSpan[], traceId: string) => spans.filter((s) => s.traceId === traceId);

describe("tracing across the mesh (OTLP http/protobuf)", () => {
  let mesh: Mesh;
  let a: MeshEdge, c: MeshEdge;
  let otlp: OtlpReceiver;

  beforeAll(async () => {
    otlp = await receiver("http/protobuf");
    mesh = await startMesh({ a: "r-a", c: "r-c" }, {}, { ...otel(otlp, "http/protobuf"), OTEL_SERVICE_NAME: "onramp-edge" });
    ({ a, c } = mesh.edges as { a: MeshEdge; c: MeshEdge });
  }, 120_000);

  afterAll(async () => {
    await mesh?.stop();
  });

  it("links client → edge C → relay → edge A → agent → upstream in one trace", async () => {
    const up = await upstream("traced");
    // The agent holds a session with A only, so a request at C is relayed to A.
    const agent = await startMeshAgent("traced-agent", [a], up.target, ["--url", "http://traced.e2e.localhost"], { ...otel(otlp, "http/protobuf"), OTEL_SERVICE_NAME: "shop-agent", OTEL_RESOURCE_ATTRIBUTES: "deployment.environment=e2e" });
    const traceparent = `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`;
    // C learns A's binding through the mesh; until then the endpoint is unknown at C.
    const reply = await eventually(async () => {
      const r = await send({ base: c.httpUrl, host: agent.host, path: "/echo?x=1", headers: { traceparent }, timeoutMs: 5000 });
      expect(r.status).toBe(200);
      return r;
    });
    const upstreamParent = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/.exec(JSON.parse(reply.body).headers.traceparent as string);
    expect(upstreamParent?.[1]).toBe(CLIENT_TRACE);

    const spans = await otlp.waitFor((all) => {
      const t = inTrace(all, CLIENT_TRACE);
      return t.some((s) => s.spanId === upstreamParent![2]) && t.filter((s) => s.service === "onramp-edge" && s.kind === SERVER).length >= 2;
    }, 15_000);
    const trace = inTrace(spans, CLIENT_TRACE);
    const byId = new Map(trace.map((s) => [s.spanId, s]));
    const parentOf = (s: ReceivedSpan) => byId.get(s.parentSpanId);

    // Walk up from the span the upstream's traceparent names: every hop, in order, to the client.
    const agentClient = byId.get(upstreamParent![2]!)!;
    expect(agentClient).toMatchObject({ service: "shop-agent", kind: CLIENT });
    expect(agentClient.resource["deployment.environment"]).toBe("e2e");
    expect(agentClient.attributes["url.full"]).toBe(`http://${up.target}/echo?x=1`);
    const agentServer = parentOf(agentClient)!;
    expect(agentServer).toMatchObject({ service: "shop-agent", kind: SERVER, name: "GET" });
    expect(agentServer.attributes).toMatchObject({ "http.request.method": "GET", "url.path": "/echo", "onramp.endpoint.url": "http://traced.e2e.localhost", "http.response.status_code": 200 });
    const relayServer = parentOf(agentServer)!;
    expect(relayServer).toMatchObject({ service: "onramp-edge", kind: SERVER, name: "relay" });
    expect(relayServer.attributes["onramp.edge.id"]).toBe("a");
    const relayClient = parentOf(relayServer)!;
    expect(relayClient).toMatchObject({ service: "onramp-edge", kind: CLIENT, name: "relay" });
    expect(relayClient.attributes).toMatchObject({ "onramp.member.edge": "a", "onramp.attempt": 1 });
    const edgeServer = parentOf(relayClient)!;
    expect(edgeServer).toMatchObject({ service: "onramp-edge", kind: SERVER, name: "GET", parentSpanId: CLIENT_SPAN });
    expect(edgeServer.attributes).toMatchObject({
      "http.request.method": "GET",
      "url.path": "/echo",
      "url.query": "x=1",
      "server.address": "traced.e2e.localhost",
      "http.response.status_code": 200,
      "onramp.edge.id": "c",
      "onramp.region": "r-c",
      "onramp.endpoint.url": "http://traced.e2e.localhost",
    });
    expect(edgeServer.attributes["onramp.pool.member"]).toBeTruthy();
    await agent.proc.stop();
  });

  it("marks the failure with its error code on every hop's span", async () => {
    const up = await upstream("soon-gone");
    const agent = await startMeshAgent("failing-agent", [a], up.target, ["--url", "http://failing.e2e.localhost", "--health-check-interval", "0s"], otel(otlp, "http/protobuf"));
    await up.close();
    const traceId = "5bf92f3577b34da6a3ce929d0e0e4736";
    const reply = await send({ base: a.httpUrl, host: agent.host, path: "/", headers: { traceparent: `00-${traceId}-${CLIENT_SPAN}-01` }, timeoutMs: 5000 });
    expect(reply.headers["onramp-error-code"]).toBe("ERR_ONRAMP_UPSTREAM_REFUSED");
    const spans = await otlp.waitFor((all) => inTrace(all, traceId).some((s) => s.service === "onramp-agent" && s.kind === SERVER) && inTrace(all, traceId).some((s) => s.service === "onramp-edge" && s.kind === SERVER), 15_000);
    const edgeServer = inTrace(spans, traceId).find((s) => s.service === "onramp-edge" && s.kind === SERVER)!;
    const agentServer = inTrace(spans, traceId).find((s) => s.service === "onramp-agent" && s.kind === SERVER)!;
    for (const span of [edgeServer, agentServer]) {
      expect(span.status.code).toBe(2);
      expect(span.attributes["onramp.error.code"]).toBe("UPSTREAM_REFUSED");
    }
    expect(edgeServer.attributes["http.response.status_code"]).toBe(502);
    await agent.proc.stop();
  });
});

describe("tracing with the embedded edge (OTLP grpc)", () => {
  it("exports the edge's and the agent's spans of one request in one process", async () => {
    const otlp = await receiver("grpc");
    const up = await upstream("embedded");
    const agent = startOnramp("embedded-traced", ["http", up.target, "--port", "0"], otel(otlp, "grpc"));
    const line = await agent.waitForLine("stdout", /^Forwarding /);
    const url = new URL(line.split(" ")[1]!);
    const reply = await send({ base: `http://127.0.0.1:${url.port}`, host: url.host, path: "/hello" });
    expect(reply.status).toBe(200);
    const spans = await otlp.waitFor((all) => all.some((s) => s.service === "onramp-edge") && all.some((s) => s.service === "onramp-agent" && s.kind === CLIENT), 15_000);
    const edgeServer = spans.find((s) => s.service === "onramp-edge" && s.kind === SERVER)!;
    const agentServer = spans.find((s) => s.service === "onramp-agent" && s.kind === SERVER)!;
    // No traceparent from the client: the edge starts the trace, the agent continues it.
    expect(edgeServer.parentSpanId).toBe("");
    expect(agentServer.traceId).toBe(edgeServer.traceId);
    await agent.stop("SIGINT");
  });

  it("sends the spans still waiting for their batch when it is stopped", async () => {
    const otlp = await receiver("http/json");
    const up = await upstream("stopped");
    // Batches wait 10 minutes: only the shutdown sends these spans (through the export thread).
    const agent = startOnramp("stopped-traced", ["http", up.target, "--port", "0"], { ...otel(otlp, "http/json"), OTEL_BSP_SCHEDULE_DELAY: "600000" });
    const line = await agent.waitForLine("stdout", /^Forwarding /);
    const url = new URL(line.split(" ")[1]!);
    expect((await send({ base: `http://127.0.0.1:${url.port}`, host: url.host, path: "/last" })).status).toBe(200);
    expect(otlp.spans).toEqual([]);
    expect((await agent.stop("SIGTERM")).code).toBe(0);
    const spans = await otlp.waitFor((all) => all.some((s) => s.service === "onramp-edge" && s.kind === SERVER) && all.some((s) => s.service === "onramp-agent" && s.kind === CLIENT), 5_000);
    expect(spans.find((s) => s.service === "onramp-edge" && s.kind === SERVER)?.attributes["url.path"]).toBe("/last");
  });
});
