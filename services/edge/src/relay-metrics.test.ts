import { decodeResponseHead, encodeRequestHead } from "@onramp/mux";
import { createEdgeMetrics, silentLogger, type EdgeMetrics } from "@onramp/telemetry";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createAgentListener } from "./agent-listener.js";
import type { AgentSession } from "./agent-session.js";
import { fakeAgentConnection } from "./fake-agent.js";
import { RelayClient } from "./relay-client.js";
import { acceptRelayConnection } from "./relay-server.js";

const SECRET = "relay-metrics-secret";
const closers: Array<() => void> = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

/** Edge "b": takes relay connections and carries streams for bind b1 to a fake agent. */
async function edgeB(): Promise<string> {
  const agent = await fakeAgentConnection();
  closers.push(agent.close);
  const session = { pickConnection: () => agent.connection } as unknown as AgentSession;
  const server = createAgentListener(
    {
      grpc: (s) => s.destroy(),
      data: (s) => s.destroy(),
      relay: (s) => acceptRelayConnection(s, { edgeId: "b", clusterSecret: SECRET, sessionFor: (bindId) => (bindId === "b1" ? session : undefined), mux: {}, handshakeTimeoutMs: 2_000, logger: silentLogger() }),
    },
    2_000,
    silentLogger(),
  );
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  closers.push(() => server.close());
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function value(metrics: EdgeMetrics, name: "relayStreams" | "relayConnections" | "relayBytes", direction: string): Promise<number | undefined> {
  return (await metrics[name].get()).values.find((v) => v.labels.direction === direction)?.value;
}

describe("relay metrics", () => {
  it("count streams relayed out, the open connection and its bytes, which never go down when it closes", async () => {
    const address = await edgeB();
    const metrics = createEdgeMetrics();
    const client = new RelayClient({ edgeId: "a", clusterSecret: SECRET, addressOf: () => address, mux: {}, handshakeTimeoutMs: 2_000, logger: silentLogger(), metrics });
    closers.push(() => client.close());
    client.opener("b"); // dial
    const opener = await vi.waitFor(() => client.requestOpener("b") ?? Promise.reject(new Error("relay not connected yet")));
    expect(await value(metrics, "relayConnections", "outbound")).toBe(1);

    for (const path of ["/1", "/2"]) {
      const status = await new Promise<number>((resolve, reject) =>
        opener.openStream(encodeRequestHead({ method: "GET", path, bindId: "b1" }), true, { onHead: (p) => resolve(decodeResponseHead(p).status), onReset: (code) => reject(new Error(code)) }),
      );
      expect(status).toBe(200);
    }
    expect(await value(metrics, "relayStreams", "outbound")).toBe(2);
    const sent = (await value(metrics, "relayBytes", "sent"))!;
    const received = (await value(metrics, "relayBytes", "received"))!;
    expect(sent).toBeGreaterThan(0);
    expect(received).toBeGreaterThan(0);

    client.close();
    await vi.waitFor(async () => expect(await value(metrics, "relayConnections", "outbound")).toBe(0));
    expect(await value(metrics, "relayBytes", "sent")).toBeGreaterThanOrEqual(sent);
    expect(await value(metrics, "relayBytes", "received")).toBeGreaterThanOrEqual(received);
  });
});
