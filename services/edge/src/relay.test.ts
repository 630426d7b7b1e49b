import { decodeResponseHead, encodeRequestHead, type MuxConnection } from "@onramp/mux";
import { silentLogger } from "@onramp/telemetry";
import type { Server } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { answerOk, fakeAgentConnection, type FakeAgentBehaviour } from "./fake-agent.js";
import { acceptorHello, dialerHello, verifyHello } from "./relay-auth.js";
import { RelayClient } from "./relay-client.js";
import { startRelayListener } from "./relay-listener-fixture.js";

const SECRET = "relay-test-secret";
const closers: Array<() => void> = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

async function fakeAgent(behaviour: FakeAgentBehaviour = answerOk): Promise<MuxConnection> {
  const agent = await fakeAgentConnection(behaviour);
  closers.push(agent.close);
  return agent.connection;
}

async function relayListener(sessions: Record<string, MuxConnection>): Promise<{ server: Server; address: string }> {
  const listener = await startRelayListener(SECRET, sessions);
  closers.push(() => listener.server.close());
  return listener;
}

async function connectedOpener(client: RelayClient, edge: string): Promise<MuxConnection> {
  for (let i = 0; i < 200; i++) {
    const c = client.opener(edge);
    if (c) return c;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error("relay never connected");
}

describe("relay between edges", () => {
  it("carries a request to the agent session holding the bind on the other edge", async () => {
    const { address } = await relayListener({ b1: await fakeAgent() });
    const client = new RelayClient({ edgeId: "a", clusterSecret: SECRET, addressOf: () => address, mux: {}, handshakeTimeoutMs: 2000, logger: silentLogger() });
    closers.push(() => client.close());
    const relay = await connectedOpener(client, "b");
    const head = encodeRequestHead({ method: "GET", path: "/x", bindId: "b1" });
    const response = await new Promise<ReturnType<typeof decodeResponseHead>>((resolve, reject) => {
      relay.openStream(head, true, { onHead: (p) => resolve(decodeResponseHead(p)), onReset: (code) => reject(new Error(code)) });
    });
    expect(response.status).toBe(200);
    expect(response.headers).toEqual(["x-bind", "b1"]);
    expect(Buffer.from(response.body).toString()).toBe("hello /x");
    expect(client.connectedPeers()).toEqual(["b"]);
  });

  it("lets a request in flight finish when the peer is forgotten (it left the mesh), and opens nothing new there", async () => {
    let answer: (() => void) | undefined;
    const held: FakeAgentBehaviour = (stream, head) => void (answer = () => answerOk(stream, head));
    const { address } = await relayListener({ b1: await fakeAgent(held) });
    const client = new RelayClient({ edgeId: "a", clusterSecret: SECRET, addressOf: () => address, mux: {}, handshakeTimeoutMs: 2000, logger: silentLogger() });
    closers.push(() => client.close());
    const relay = await connectedOpener(client, "b");
    const response = new Promise<number>((resolve, reject) => {
      relay.openStream(encodeRequestHead({ method: "POST", path: "/x", bindId: "b1" }), true, { onHead: (p) => resolve(decodeResponseHead(p).status), onReset: (code) => reject(new Error(code)) });
    });
    await new Promise<void>((resolve) => {
      const check = setInterval(() => answer && (clearInterval(check), resolve()), 5);
    });
    client.forget("b");
    expect(relay.acceptsNewStreams).toBe(false);
    answer!();
    expect(await response).toBe(200);
  });

  it("resets a stream for a bind no session here holds, with ENDPOINT_OFFLINE", async () => {
    const { address } = await relayListener({});
    const client = new RelayClient({ edgeId: "a", clusterSecret: SECRET, addressOf: () => address, mux: {}, handshakeTimeoutMs: 2000, logger: silentLogger() });
    closers.push(() => client.close());
    const relay = await connectedOpener(client, "b");
    const head = encodeRequestHead({ method: "GET", path: "/", bindId: "gone" });
    const code = await new Promise((resolve) => relay.openStream(head, true, { onReset: (c) => resolve(c) }));
    expect(code).toBe("ENDPOINT_OFFLINE");
  });

  it("refuses hellos made with another secret, replayed to another dialer, or from a skewed clock", () => {
    const hello = dialerHello(SECRET, "a");
    expect(verifyHello(SECRET, hello.payload)?.edgeId).toBe("a");
    expect(verifyHello("another-secret", hello.payload)).toBeUndefined();
    const answer = acceptorHello(SECRET, "b", hello.nonce);
    expect(verifyHello(SECRET, answer, hello.nonce)?.edgeId).toBe("b");
    expect(verifyHello(SECRET, answer, dialerHello(SECRET, "c").nonce)).toBeUndefined();
    expect(verifyHello(SECRET, Buffer.from("garbage"))).toBeUndefined();
  });

  it("never connects to an edge with another cluster secret", async () => {
    const { address } = await relayListener({});
    const client = new RelayClient({ edgeId: "a", clusterSecret: "not-the-secret", addressOf: () => address, mux: {}, handshakeTimeoutMs: 500, logger: silentLogger() });
    closers.push(() => client.close());
    await expect(connectedOpener(client, "b")).rejects.toThrow(/never connected/);
  });
});
