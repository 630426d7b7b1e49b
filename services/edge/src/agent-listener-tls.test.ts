import { decodeResponseHead, encodeRequestHead, type MuxConnection } from "@onramp/mux";
import { silentLogger } from "@onramp/telemetry";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { answerOk, fakeAgentConnection } from "./fake-agent.js";
import { RelayClient } from "./relay-client.js";
import { startRelayListener, warningsOf } from "./relay-listener-fixture.js";
import { CertificateStore, type TlsCertificateFiles } from "./tls-certificates.js";

// The agent port with a certificate serves TLS (docs/security.md); relays to it go over TLS.
const SECRET = "relay-test-secret";
let dir: string;
let ca: string;
let otherCa: string;
let edgeCert: TlsCertificateFiles;
/** A certificate for a name only, as a mesh's shared certificate is, while peers dial IP addresses. */
let sharedCert: TlsCertificateFiles;
const closers: Array<() => void> = [];

function openssl(...args: string[]): void {
  execFileSync("openssl", args, { stdio: "pipe" });
}

function newCa(name: string): string {
  openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", join(dir, `${name}.key`), "-out", join(dir, `${name}.crt`), "-days", "2", "-subj", `/CN=${name}`);
  return readFileSync(join(dir, `${name}.crt`), "utf8");
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "onramp-agent-port-tls-"));
  ca = newCa("ca");
  otherCa = newCa("other-ca");
  edgeCert = { cert: join(dir, "edge.crt"), key: join(dir, "edge.key") };
  writeFileSync(join(dir, "edge.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", edgeCert.key, "-out", join(dir, "edge.csr"), "-subj", "/CN=edge");
  openssl("x509", "-req", "-in", join(dir, "edge.csr"), "-CA", join(dir, "ca.crt"), "-CAkey", join(dir, "ca.key"), "-set_serial", "2", "-days", "2", "-extfile", join(dir, "edge.ext"), "-out", edgeCert.cert);
  sharedCert = { cert: join(dir, "shared.crt"), key: join(dir, "shared.key") };
  writeFileSync(join(dir, "shared.ext"), "subjectAltName=DNS:*.mesh.example.com\n");
  openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", sharedCert.key, "-out", join(dir, "shared.csr"), "-subj", "/CN=shared");
  openssl("x509", "-req", "-in", join(dir, "shared.csr"), "-CA", join(dir, "ca.crt"), "-CAkey", join(dir, "ca.key"), "-set_serial", "3", "-days", "2", "-extfile", join(dir, "shared.ext"), "-out", sharedCert.cert);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

async function listener(certificates: CertificateStore | undefined, sessions: Record<string, MuxConnection> = {}): Promise<string> {
  const { server, address } = await startRelayListener(SECRET, sessions, certificates);
  closers.push(() => server.close());
  return address;
}

/** Until `check` holds (3 s at most, polled every 10 ms). */
const until = (check: () => boolean) => vi.waitUntil(check, { timeout: 3_000, interval: 10 });

describe("the agent port with a certificate", () => {
  it("serves TLS with it, also to a client that sends no SNI (dials an IP address)", async () => {
    const address = await listener(new CertificateStore([edgeCert], silentLogger()));
    const [host, port] = address.split(":");
    const socket = tlsConnect({ host, port: Number(port), ca });
    closers.push(() => socket.destroy());
    await new Promise<void>((resolve, reject) => socket.once("secureConnect", resolve).once("error", reject));
    expect(socket.authorized).toBe(true);
  });

  it("carries relays from an edge that verifies it with the cluster CA", async () => {
    const agent = await fakeAgentConnection(answerOk);
    closers.push(agent.close);
    const address = await listener(new CertificateStore([edgeCert], silentLogger()), { b1: agent.connection });
    const client = new RelayClient({ edgeId: "a", clusterSecret: SECRET, tls: { ca }, addressOf: () => address, mux: {}, handshakeTimeoutMs: 2000, logger: silentLogger() });
    closers.push(() => client.close());
    let relay: MuxConnection | undefined;
    await until(() => (relay = client.opener("b")) !== undefined);
    const status = await new Promise<number>((resolve, reject) => {
      relay!.openStream(encodeRequestHead({ method: "GET", path: "/x", bindId: "b1" }), true, { onHead: (p) => resolve(decodeResponseHead(p).status), onReset: (code) => reject(new Error(code)) });
    });
    expect(status).toBe(200);
  });

  it("is refused by a relay client that does not trust its CA, which says so", async () => {
    const address = await listener(new CertificateStore([edgeCert], silentLogger()));
    const { logger, warnings } = warningsOf();
    const client = new RelayClient({ edgeId: "a", clusterSecret: SECRET, tls: { ca: otherCa }, addressOf: () => address, mux: {}, handshakeTimeoutMs: 2000, logger });
    closers.push(() => client.close());
    client.opener("b");
    await until(() => warnings.length > 0);
    expect(warnings[0]).toContain(`relay to edge b at ${address}: its TLS certificate does not verify`);
    expect(warnings[0]).toContain("--cluster-ca");
  });
});

describe("a peer that advertises an IP address its certificate does not name", () => {
  it("is accepted when its certificate has a name of this edge's own certificates (one certificate for the mesh)", async () => {
    const address = await listener(new CertificateStore([sharedCert], silentLogger()));
    const client = new RelayClient({ edgeId: "a", clusterSecret: SECRET, tls: { ca, ownNames: () => ["*.mesh.example.com"] }, addressOf: () => address, mux: {}, handshakeTimeoutMs: 2000, logger: silentLogger() });
    closers.push(() => client.close());
    await until(() => client.opener("b") !== undefined);
  });

  it("is refused otherwise", async () => {
    const address = await listener(new CertificateStore([sharedCert], silentLogger()));
    const { logger, warnings } = warningsOf();
    const client = new RelayClient({ edgeId: "a", clusterSecret: SECRET, tls: { ca, ownNames: () => ["other.example.com"] }, addressOf: () => address, mux: {}, handshakeTimeoutMs: 2000, logger });
    closers.push(() => client.close());
    client.opener("b");
    await until(() => warnings.length > 0);
    expect(warnings[0]).toContain("its TLS certificate does not verify (ERR_TLS_CERT_ALTNAME_INVALID");
  });
});

describe("the agent port without a certificate", () => {
  it("answers a TLS client with something that is not TLS, so the client can tell (wrong version number)", async () => {
    const address = await listener(undefined);
    const [host, port] = address.split(":");
    const socket = tlsConnect({ host, port: Number(port), ca });
    closers.push(() => socket.destroy());
    const error = await new Promise<NodeJS.ErrnoException>((resolve) => socket.once("error", resolve));
    expect(error.code).toBe("ERR_SSL_WRONG_VERSION_NUMBER");
  });

  it("is reported as plaintext by a relay client that expects TLS", async () => {
    const address = await listener(undefined);
    const { logger, warnings } = warningsOf();
    const client = new RelayClient({ edgeId: "a", clusterSecret: SECRET, tls: { ca }, addressOf: () => address, mux: {}, handshakeTimeoutMs: 2000, logger });
    closers.push(() => client.close());
    client.opener("b");
    await until(() => warnings.length > 0);
    expect(warnings[0]).toContain("it does not speak TLS on its agent port; every edge of a mesh needs a certificate, or none does");
  });
});
