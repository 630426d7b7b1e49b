import { createMemoryCertificateStore, type CertificateStore } from "@onramp/registry";
import { createLogger } from "@onramp/telemetry";
import { X509Certificate } from "node:crypto";
import { get } from "node:https";
import { connect } from "node:tls";
import { afterEach, describe, expect, it } from "vitest";
import { createEdge, type Edge } from "./edge.js";
import type { AcmeOptions } from "./acme-options.js";
import { freePorts, pebbleAvailable, startPebble, type Pebble } from "./acme-pebble-fixture.js";

const POLICY = `on_http_request:\n  - actions: [{type: custom-response, config: {status_code: 200, body: "served over ACME TLS"}}]\n`;

interface Handshake {
  error?: string;
  authorized?: boolean;
  authorizationError?: string;
  fingerprint256?: string;
  names?: string;
}

/** A TLS handshake with `servername`, verifying against `root`; what the client saw. */
function handshake(port: number, servername: string, root: string, alpn = "http/1.1"): Promise<Handshake> {
  return new Promise((resolve) => {
    const socket = connect({ host: "127.0.0.1", port, servername, ca: root, rejectUnauthorized: false, ALPNProtocols: [alpn] }, () => {
      const cert = socket.getPeerX509Certificate();
      resolve({ authorized: socket.authorized, authorizationError: socket.authorizationError?.toString(), fingerprint256: cert?.fingerprint256, names: cert?.subjectAltName });
      socket.end();
    });
    socket.on("error", (err) => resolve({ error: err.message }));
  });
}

function httpsGet(port: number, hostname: string, root: string): Promise<{ status: number | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    get({ host: "127.0.0.1", port, servername: hostname, headers: { host: hostname }, ca: root, path: "/" }, (res) => {
      let body = "";
      res.on("data", (d: Buffer) => (body += d.toString()));
      res.on("end", () => resolve({ status: res.statusCode, body }));
    }).on("error", reject);
  });
}

const orders = (pebble: Pebble) => pebble.log().split("\n").filter((l) => l.includes("POST /order-plz")).length;

describe.skipIf(!pebbleAvailable())("ACME against pebble", () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  /** Edges with fixed loopback ports (pebble's config names the ports it validates on), then pebble. */
  async function setUp(count: number, acme: Omit<AcmeOptions, "directoryUrl" | "ca">, extra: { advertiseAddr?: string } = {}) {
    // All in one go, held open together: no port is handed out twice.
    const free = await freePorts(count * 2 + 4);
    const ports = Array.from({ length: count }, (_, i) => ({ http: free[2 * i]!, https: free[2 * i + 1]! }));
    const pebble = await startPebble({ httpPort: ports[0]!.http, tlsPort: ports[0]!.https, own: free.slice(count * 2) });
    cleanups.push(() => pebble.stop());
    const edges: Edge[] = [];
    for (const [i, p] of ports.entries()) {
      const edge = createEdge({
        edgeId: `edge-${i}`,
        httpAddr: `127.0.0.1:${p.http}`,
        httpsAddr: `127.0.0.1:${p.https}`,
        grpcAddr: "127.0.0.1:0",
        adminAddr: "",
        authtokens: ["acme-test-token"],
        cloudEndpoints: [{ url: "https://app.example.test", trafficPolicy: POLICY }],
        ...extra,
        ...(process.env.ACME_TEST_LOG ? { logger: createLogger({ level: "debug", format: "logfmt" }) } : {}),
        acme: { ...acme, directoryUrl: pebble.directoryUrl, ca: pebble.ca, handshakeWaitMs: 30_000, pollMs: 200 },
      });
      await edge.start();
      cleanups.push(() => edge.close());
      edges.push(edge);
    }
    return { pebble, edges, ports, root: await pebble.root() };
  }

  for (const challenge of ["http-01", "tls-alpn-01"] as const) {
    it(`obtains a certificate for a served hostname by ${challenge} and serves it`, async () => {
      const store = createMemoryCertificateStore();
      const { ports, root, pebble } = await setUp(1, { challenge, store });
      const first = await handshake(ports[0]!.https, "app.example.test", root);
      expect(first.error).toBeUndefined();
      expect(first.authorizationError).toBeUndefined();
      expect(first.authorized).toBe(true);
      expect(first.names).toBe("DNS:app.example.test");
      const stored = await store.getCertificate("app.example.test");
      expect(new X509Certificate(stored!.cert).fingerprint256).toBe(first.fingerprint256);
      expect(await httpsGet(ports[0]!.https, "app.example.test", root)).toEqual({ status: 200, body: "served over ACME TLS" });
      // The challenge answers are gone once validated; the next handshake orders nothing.
      expect(await store.getChallenge(`${challenge}/app.example.test`)).toBeUndefined();
      const before = orders(pebble);
      expect((await handshake(ports[0]!.https, "app.example.test", root)).fingerprint256).toBe(first.fingerprint256);
      expect(orders(pebble)).toBe(before);
    }, 90_000);
  }

  it("serves the agent port over TLS with an ACME certificate for the name agents dial (--advertise-addr), and for no other", async () => {
    const store = createMemoryCertificateStore();
    const { edges, root, pebble } = await setUp(1, { challenge: "http-01", store }, { advertiseAddr: "edge.example.test:4443" });
    const agentPort = Number(edges[0]!.addresses.agent.split(":").pop());
    // h2 as agents' gRPC offers it.
    const seen = await handshake(agentPort, "edge.example.test", root, "h2");
    expect(seen.error).toBeUndefined();
    expect(seen.authorized).toBe(true);
    expect(seen.names).toBe("DNS:edge.example.test");
    // The agent port is TLS only now: a name the edge does not serve gets no certificate, and no order.
    const before = orders(pebble);
    expect((await handshake(agentPort, "evil.example.test", root, "h2")).error).toBeDefined();
    expect(orders(pebble)).toBe(before);
  }, 90_000);

  it("never orders for a name the mesh does not serve", async () => {
    const store = createMemoryCertificateStore();
    const { ports, root, pebble } = await setUp(1, { challenge: "http-01", store });
    for (const name of ["evil.example.test", "sub.app.example.test", "127.0.0.1", "localhost"]) {
      const seen = await handshake(ports[0]!.https, name, root);
      // No certificate file and no ACME certificate: the handshake fails rather than show a wrong one.
      expect(seen.error, name).toBeDefined();
    }
    expect(orders(pebble)).toBe(0);
    expect(await store.listCertificates()).toEqual([]);
  }, 60_000);

  it("lets one edge of two sharing a store order a name, and both serve it", async () => {
    const store: CertificateStore = createMemoryCertificateStore();
    // pebble validates on the first edge only: the challenge answer is shared through the store.
    const { ports, root, pebble } = await setUp(2, { challenge: "http-01", store });
    const [a, b] = await Promise.all(ports.map((p) => handshake(p.https, "app.example.test", root)));
    expect(a!.authorized).toBe(true);
    expect(b!.authorized).toBe(true);
    expect(a!.fingerprint256).toBe(b!.fingerprint256);
    expect(orders(pebble)).toBe(1);
    expect((await store.listCertificates()).map((c) => c.hostname)).toEqual(["app.example.test"]);
  }, 90_000);
});
