import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { networkInterfaces } from "node:os";
import { createServer as createTlsServer, type Server as TlsServer } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestCa, type CertificatePair } from "./harness/certificates.js";
import { startAgent, startEdge, TOKEN, type EdgeProcess } from "./harness/cluster.js";
import { startEtcd, type EtcdServer } from "./harness/etcd-server.js";
import { eventually, send } from "./harness/http-client.js";
import { startMeshAgent, startMeshEdge, type MeshEdge } from "./harness/mesh.js";
import { startNatsCluster, type NatsCluster } from "./harness/nats-server.js";
import { startOnramp, stopAll, type RunningProcess } from "./harness/processes.js";
import { startUpstream, type Upstream } from "./harness/upstream.js";
import { until, within } from "./harness/within.js";

// The agent link over TLS (docs/security.md, "TLS on the agent link"): agents verify the edge's
// certificate and refuse an edge they cannot verify, or one that does not speak TLS.
let ca: TestCa;
/** A second CA the agents do not trust. */
let otherCa: TestCa;
let edgeCert: CertificatePair;
let upstream: Upstream;
let tlsEdge: EdgeProcess;

/** A TLS edge: HTTPS and the agent port both serve `cert`. */
const tlsArgs = (cert: CertificatePair) => ["--https-addr", "127.0.0.1:0", "--tls-cert", cert.cert, "--tls-key", cert.key];

/** Runs `onramp http` to `edge` and waits for it to exit, which it must, with its stderr. */
async function refused(name: string, edge: string, args: string[]): Promise<{ code: number | null; stderr: string; proc: RunningProcess }> {
  const proc = startOnramp(name, ["http", upstream.target, "--edge", edge, "--authtoken", TOKEN, ...args]);
  const { code } = await within(20_000, `${name} to exit`, proc.exited);
  return { code, stderr: proc.stderr.join("\n"), proc };
}

beforeAll(async () => {
  ca = new TestCa();
  otherCa = new TestCa();
  edgeCert = ca.issue("edge", ["127.0.0.1", "localhost", "*.e2e.localhost"]);
  upstream = await startUpstream("agent-tls");
  tlsEdge = await startEdge(tlsArgs(edgeCert), "edge-tls");
});

afterAll(async () => {
  await stopAll();
  await upstream?.close();
  ca?.remove();
  otherCa?.remove();
});

describe("an agent with --edge-ca", () => {
  it("connects to an edge with a certificate over TLS, and requests go through end to end", async () => {
    const agent = await startAgent(tlsEdge, upstream.target, ["--edge-ca", ca.cert, "--url", "http://tls.e2e.localhost"]);
    const reply = await send({ base: tlsEdge.httpUrl, host: agent.host, path: "/echo", method: "POST", body: "over tls" });
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body).body).toBe("over tls");
    await agent.proc.stop();
  });

  it("refuses an edge whose certificate is from a CA it does not trust: exits non-zero and says why", async () => {
    const untrusted = otherCa.issue("untrusted", ["127.0.0.1", "localhost"]);
    const edge = await startEdge(tlsArgs(untrusted), "edge-untrusted");
    const { code, stderr } = await refused("agent-untrusted", edge.agent, ["--edge-ca", ca.cert]);
    expect(code).not.toBe(0);
    expect(stderr).toContain(`refusing the edge at ${edge.agent}: its TLS certificate is not signed by a CA the agent trusts`);
    await edge.proc.stop();
  });

  it("refuses an edge whose certificate is for another name", async () => {
    const wrongName = ca.issue("wrong-name", ["edge.example.net"]);
    const edge = await startEdge(tlsArgs(wrongName), "edge-wrong-name");
    const { code, stderr } = await refused("agent-wrong-name", edge.agent, ["--edge-ca", ca.cert]);
    expect(code).not.toBe(0);
    expect(stderr).toContain(`refusing the edge at ${edge.agent}: its TLS certificate is not for 127.0.0.1`);
    await edge.proc.stop();
  });

  it("refuses an edge whose certificate has expired", async () => {
    // An edge refuses to start with an expired certificate, so a bare TLS server stands in for one
    // whose certificate expired while it ran: the agent refuses it during the handshake.
    const expired = ca.issue("expired", ["127.0.0.1", "localhost"], -1);
    const server: TlsServer = createTlsServer({ cert: readFileSync(expired.cert), key: readFileSync(expired.key) }, (s) => s.destroy());
    server.on("tlsClientError", () => undefined);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const { code, stderr } = await refused("agent-expired", address, ["--edge-ca", ca.cert]);
      expect(code).not.toBe(0);
      expect(stderr).toContain(`refusing the edge at ${address}: its TLS certificate has expired`);
    } finally {
      server.close();
    }
  });

  it("refuses a plaintext edge on loopback when --edge-ca asks for TLS", async () => {
    const plain = await startEdge([], "edge-plain-loopback");
    const { code, stderr } = await refused("agent-plain-loopback", plain.agent, ["--edge-ca", ca.cert]);
    expect(code).not.toBe(0);
    expect(stderr).toContain(`refusing the edge at ${plain.agent}: it does not speak TLS on its agent port; give the edge a certificate`);
    await plain.proc.stop();
  });
});

/** An address of this host that is not loopback, if it has one. */
const publicAddress = Object.values(networkInterfaces())
  .flat()
  .find((i) => i && i.family === "IPv4" && !i.internal)?.address;

describe.skipIf(publicAddress === undefined)(`a plaintext edge not on loopback (${publicAddress})`, () => {
  let plain: EdgeProcess;

  beforeAll(async () => {
    plain = await startEdge(["--grpc-addr", `${publicAddress}:0`], "edge-plain-public");
  });

  it("is refused without --insecure-edge: the error says to give the edge a certificate or pass --insecure-edge", async () => {
    const { code, stderr } = await refused("agent-plain-public", plain.agent, []);
    expect(code).not.toBe(0);
    expect(stderr).toContain(`refusing the edge at ${plain.agent}: it does not speak TLS on its agent port`);
    expect(stderr).toContain("--insecure-edge");
  });

  it("is used with --insecure-edge (or ONRAMP_INSECURE_EDGE)", async () => {
    const proc = startOnramp("agent-insecure", ["http", upstream.target, "--edge", plain.agent, "--authtoken", TOKEN, "--url", "http://insecure.e2e.localhost"], { ONRAMP_INSECURE_EDGE: "1" });
    const line = await proc.waitForLine("stdout", /^Forwarding /);
    const host = new URL(line.split(" ")[1]!).host;
    const reply = await send({ base: plain.httpUrl, host, path: "/echo" });
    expect(reply.status).toBe(200);
    await proc.stop();
  });
});

describe("a mesh of two edges with certificates", () => {
  let etcd: EtcdServer;
  let nats: NatsCluster;
  let a: MeshEdge, b: MeshEdge;

  beforeAll(async () => {
    [etcd, nats] = await Promise.all([startEtcd(), startNatsCluster(1)]);
    // Each edge's advertise address (its agent listener, 127.0.0.1) is on its certificate.
    const meshArgs = [...tlsArgs(edgeCert), "--cluster-ca", ca.cert];
    a = await startMeshEdge("tls-a", "r-a", etcd.url, nats.urls[0]!, meshArgs);
    b = await startMeshEdge("tls-b", "r-b", etcd.url, nats.urls[0]!, meshArgs);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([a?.proc.stop("SIGKILL"), b?.proc.stop("SIGKILL")]);
    await Promise.all([etcd?.stop(), nats?.stop()]);
  });

  it("relays over TLS: an endpoint bound only at A answers at B", async () => {
    const agent = await startMeshAgent("agent-mesh-tls", [a], upstream.target, ["--url", "http://relayed.e2e.localhost", "--edge-ca", ca.cert]);
    const reply = await eventually(async () => {
      const r = await send({ base: b.httpUrl, host: agent.host, path: "/echo", timeoutMs: 5000 });
      expect(r.status).toBe(200);
      return r;
    });
    expect(reply.status).toBe(200);
    await until("B's log of the relay to A", () => b.proc.stderr.some((l) => l.includes('"msg":"relay connected"') && l.includes('"peer":"tls-a"')));
    await agent.proc.stop();
  });

  it("refuses a relay peer without the cluster certificate (mTLS beside the cluster secret)", async () => {
    // C knows the cluster secret and trusts A's certificate, but its client certificate is from another CA.
    const stranger = otherCa.issue("stranger-edge", ["127.0.0.1"]);
    const c = await startMeshEdge("tls-c", "r-c", etcd.url, nats.urls[0]!, [...tlsArgs(edgeCert), "--cluster-ca", ca.cert, "--cluster-cert", stranger.cert, "--cluster-key", stranger.key]);
    const agent = await startMeshAgent("agent-mesh-mtls", [a], upstream.target, ["--url", "http://mtls.e2e.localhost", "--edge-ca", ca.cert]);
    await eventually(async () => {
      await send({ base: c.httpUrl, host: agent.host, path: "/echo", timeoutMs: 5000 });
      expect(a.proc.stderr.some((l) => l.includes("relay connection refused: no valid cluster certificate") && l.includes("is not signed by the cluster CA"))).toBe(true);
    });
    const reply = await send({ base: c.httpUrl, host: agent.host, path: "/echo", timeoutMs: 5000 });
    expect(reply.status).not.toBe(200);
    await Promise.all([agent.proc.stop(), c.proc.stop("SIGKILL")]);
  });
});
