import { DATA_MAGIC, decodeResponseHead, encodeRequestHead, type MuxConnection } from "@onramp/mux";
import { silentLogger, type Logger } from "@onramp/telemetry";
import type { AddressInfo, Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createAgentListener } from "./agent-listener.js";
import { createClusterPeerCheck, createClusterTls } from "./cluster-tls.js";
import { createTestPki, type TestPki } from "./cluster-tls-fixture.js";
import { answerOk, fakeAgentConnection } from "./fake-agent.js";
import { RelayClient } from "./relay-client.js";
import { startRelayListener, warningsOf } from "./relay-listener-fixture.js";
import { CertificateStore, type TlsCertificateFiles } from "./tls-certificates.js";

// mTLS between edges (docs/security.md): a relay to an edge with --cluster-ca must present a
// client certificate from that CA, beside the cluster secret; agents present none and still connect.
const SECRET = "relay-test-secret";
let pki: TestPki;
let ca: string;
let edgeCert: TlsCertificateFiles;
let peerCert: ReturnType<TestPki["issue"]>;
let strangerCert: ReturnType<TestPki["issue"]>;
const closers: Array<() => void> = [];

beforeAll(() => {
  pki = createTestPki("onramp-cluster-tls-");
  ca = pki.ca("cluster-ca");
  pki.ca("other-ca");
  edgeCert = pki.issue("cluster-ca", "edge", "IP:127.0.0.1,DNS:localhost");
  peerCert = pki.issue("cluster-ca", "peer", "DNS:peer.mesh.internal");
  strangerCert = pki.issue("other-ca", "stranger", "DNS:peer.mesh.internal");
});
afterAll(() => pki.remove());
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

const until = (check: () => boolean) => vi.waitUntil(check, { timeout: 3_000, interval: 10 });

/** An agent port with the edge certificate and the cluster CA, taking relays for edge "b". */
async function clusterListener(logger: Logger, sessions: Record<string, MuxConnection> = {}): Promise<string> {
  const { server, address } = await startRelayListener(SECRET, sessions, new CertificateStore([edgeCert], silentLogger()), { peerCheck: createClusterPeerCheck(ca), logger });
  closers.push(() => server.close());
  return address;
}

function relayClient(address: string, clientCertificate: { cert: string; key: string } | undefined, logger: Logger = silentLogger()): RelayClient {
  const client = new RelayClient({ edgeId: "a", clusterSecret: SECRET, tls: { ca, clientCertificate: () => clientCertificate }, addressOf: () => address, mux: {}, handshakeTimeoutMs: 2000, logger });
  closers.push(() => client.close());
  return client;
}

describe("an edge with a cluster CA", () => {
  it("carries relays from a peer with a certificate from the cluster CA", async () => {
    const agent = await fakeAgentConnection(answerOk);
    closers.push(agent.close);
    const address = await clusterListener(silentLogger(), { b1: agent.connection });
    const client = relayClient(address, peerCert.pem);
    let relay: MuxConnection | undefined;
    await until(() => (relay = client.opener("b")) !== undefined);
    const status = await new Promise<number>((resolve, reject) => {
      relay!.openStream(encodeRequestHead({ method: "GET", path: "/x", bindId: "b1" }), true, { onHead: (p) => resolve(decodeResponseHead(p).status), onReset: (code) => reject(new Error(code)) });
    });
    expect(status).toBe(200);
  });

  it("refuses a relay peer without a client certificate, and says so on both ends", async () => {
    const server = warningsOf();
    const address = await clusterListener(server.logger);
    const dialer = warningsOf();
    relayClient(address, undefined, dialer.logger).opener("b");
    await until(() => server.warnings.length > 0 && dialer.warnings.length > 0);
    expect(server.warnings[0]).toContain("it presented no client certificate");
    expect(dialer.warnings[0]).toContain("--cluster-cert");
  });

  it("refuses a relay peer whose certificate comes from another CA, even with the right cluster secret", async () => {
    const server = warningsOf();
    const address = await clusterListener(server.logger);
    const client = relayClient(address, strangerCert.pem);
    client.opener("b");
    await until(() => server.warnings.length > 0);
    expect(server.warnings[0]).toContain("is not signed by the cluster CA (--cluster-ca)");
    expect(server.warnings[0]).toContain("CN=other-ca");
    expect(client.connectedPeers()).toEqual([]);
  });

  it("still takes agents, which have no client certificate: control (gRPC) and data connections", async () => {
    const seen: string[] = [];
    const server = createAgentListener(
      {
        grpc: (s) => s.destroy(void seen.push("grpc")),
        data: (s) => s.destroy(void seen.push("data")),
        relay: (s) => s.destroy(),
      },
      2000,
      silentLogger(),
      new CertificateStore([edgeCert], silentLogger()),
      true,
    );
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    closers.push(() => server.close());
    const port = (server.address() as AddressInfo).port;
    const dial = async (first: Buffer): Promise<Socket> => {
      const socket = tlsConnect({ host: "127.0.0.1", port, ca, ALPNProtocols: ["h2"] });
      closers.push(() => socket.destroy());
      await new Promise<void>((resolve, reject) => socket.once("secureConnect", resolve).once("error", reject));
      expect(socket.authorized).toBe(true);
      socket.on("error", () => undefined);
      socket.write(first);
      return socket;
    };
    await dial(Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1"));
    await dial(DATA_MAGIC);
    await until(() => seen.length === 2);
    expect(seen.sort()).toEqual(["data", "grpc"]);
  });
});

describe("the client certificate an edge presents", () => {
  it("is --cluster-cert when given, else the agent port's first certificate", () => {
    const agentPort = new CertificateStore([edgeCert], silentLogger());
    expect(createClusterTls(ca, peerCert, agentPort, silentLogger()).clientCertificate()?.cert).toBe(peerCert.pem.cert);
    expect(createClusterTls(ca, undefined, agentPort, silentLogger()).clientCertificate()?.cert).toContain("BEGIN CERTIFICATE");
    expect(createClusterTls(ca, undefined, agentPort, silentLogger()).clientCertificate()?.cert).toBe(agentPort.certificates[0]!.pem.cert);
  });

  it("is checked against the CA at the start: a pair that does not match fails it", () => {
    expect(() => createClusterTls(ca, { cert: peerCert.cert, key: strangerCert.key }, undefined, silentLogger())).toThrow(/--cluster-cert.*is not the private key/);
  });
});
