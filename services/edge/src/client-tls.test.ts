import { silentLogger } from "@onramp/telemetry";
import { request as httpRequest } from "node:http";
import { connect as http2Connect } from "node:http2";
import { request as httpsRequest, type RequestOptions } from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestPki, type TestPki } from "./cluster-tls-fixture.js";
import { createEdge, type Edge } from "./edge.js";

// conn.tls.* and terminate-tls on the HTTPS listener (docs/traffic-policy.md): an edge with cloud
// endpoints whose policies read the client's TLS and check its certificate and version.
let pki: TestPki;
let edgeCa: string;
let client: ReturnType<TestPki["issue"]>;
let stranger: ReturnType<TestPki["issue"]>;
let edge: Edge;
let https: { host: string; port: number };
let http: { host: string; port: number };

const echo = {
  actions: [
    {
      type: "custom-response",
      config: {
        status_code: 200,
        body: "${conn.tls.version}|${conn.tls.sni}|${conn.tls.client_cert.subject.common_name}|${conn.tls.client_cert.issuer}|${string('alice.example.test' in conn.tls.client_cert.extensions.subject_alternative_name.dns_names)}|${string(size(conn.tls.cipher_suite) > 0)}",
      },
    },
  ],
};

function hostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(":");
  return { host: address.slice(0, i), port: Number(address.slice(i + 1)) };
}

beforeAll(async () => {
  pki = createTestPki("onramp-client-tls-");
  edgeCa = pki.ca("edge-ca");
  const clientCa = pki.ca("client-ca");
  pki.ca("other-ca");
  const serving = pki.issue("edge-ca", "edge", "DNS:*.example.test");
  client = pki.issue("client-ca", "alice", "DNS:alice.example.test");
  stranger = pki.issue("other-ca", "mallory", "DNS:mallory.example.test");
  const mtls = { on_tcp_connect: [{ actions: [{ type: "terminate-tls", config: { mutual_tls_certificate_authorities: [clientCa] } }] }], on_http_request: [echo] };
  const tls13 = { on_tcp_connect: [{ actions: [{ type: "terminate-tls", config: { min_version: "1.3" } }] }], on_http_request: [echo] };
  edge = createEdge({
    httpAddr: "127.0.0.1:0",
    httpsAddr: "127.0.0.1:0",
    grpcAddr: "127.0.0.1:0",
    adminAddr: "",
    tlsCertificates: [serving],
    authtokens: ["client-tls-test-token"],
    logger: silentLogger(),
    cloudEndpoints: [
      { url: "https://mtls.example.test", trafficPolicy: JSON.stringify(mtls) },
      { url: "https://modern.example.test", trafficPolicy: JSON.stringify(tls13) },
      { url: "http://plain.example.test", trafficPolicy: JSON.stringify({ on_http_request: [echo] }) },
    ],
  });
  const addresses = await edge.start();
  https = hostPort(addresses.https!);
  http = hostPort(addresses.http);
});

afterAll(async () => {
  await edge?.close();
  pki?.remove();
});

/** GET / over HTTPS to `host` (its SNI and Host); the body, or the error when the edge closed the connection. */
function get(host: string, options: RequestOptions = {}): Promise<{ status: number; body: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = httpsRequest({ ...https, servername: host, path: "/", agent: false, ca: edgeCa, headers: { host }, ...options }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    req.end();
  });
}

describe("terminate-tls with mutual_tls_certificate_authorities", () => {
  it("lets a client with a certificate from the CA through, and the policy reads it in conn.tls.client_cert", async () => {
    const answer = await get("mtls.example.test", { cert: client.pem.cert, key: client.pem.key });
    expect(answer).toEqual({ status: 200, body: "1.3|mtls.example.test|alice|CN=client-ca|true|true" });
  });

  it("reads the same over HTTP/2", async () => {
    const session = http2Connect(`https://127.0.0.1:${https.port}`, { servername: "mtls.example.test", ca: edgeCa, cert: client.pem.cert, key: client.pem.key });
    try {
      const body = await new Promise<string>((resolve, reject) => {
        const stream = session.request({ ":path": "/", ":authority": "mtls.example.test" });
        let text = "";
        stream.setEncoding("utf8");
        stream.on("data", (d: string) => (text += d));
        stream.on("end", () => resolve(text));
        stream.on("error", reject);
      });
      expect(body).toBe("1.3|mtls.example.test|alice|CN=client-ca|true|true");
    } finally {
      session.close();
    }
  });

  it("closes the connection of a client without a certificate", async () => {
    expect(await get("mtls.example.test")).toEqual({ error: "ECONNRESET" });
  });

  it("closes the connection of a client whose certificate is from another CA", async () => {
    expect(await get("mtls.example.test", { cert: stranger.pem.cert, key: stranger.pem.key })).toEqual({ error: "ECONNRESET" });
  });

  it("leaves endpoints without it alone: a client without a certificate is served, with empty client_cert fields", async () => {
    expect(await get("modern.example.test")).toEqual({ status: 200, body: "1.3|modern.example.test|||false|true" });
  });
});

describe("terminate-tls with min_version", () => {
  it("closes a connection that negotiated an older version", async () => {
    expect(await get("modern.example.test", { maxVersion: "TLSv1.2" })).toEqual({ error: "ECONNRESET" });
  });
});

describe("conn.tls over plain HTTP", () => {
  it("is empty", async () => {
    const answer = await new Promise<string>((resolve, reject) => {
      const req = httpRequest({ ...http, path: "/", agent: false, headers: { host: "plain.example.test" } }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (body += d));
        res.on("end", () => resolve(body));
      });
      req.on("error", reject);
      req.end();
    });
    expect(answer).toBe("||||false|false");
  });
});
