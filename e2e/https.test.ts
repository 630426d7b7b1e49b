import { copyFileSync } from "node:fs";
import type { IncomingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestCa, type CertificatePair } from "./harness/certificates.js";
import { startAgent, startEdge, TOKEN, type AgentProcess, type EdgeProcess } from "./harness/cluster.js";
import { send } from "./harness/http-client.js";
import { startOnramp, stopAll } from "./harness/processes.js";
import { startUpstream, type Upstream } from "./harness/upstream.js";
import { until, within } from "./harness/within.js";

interface TlsReply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** The certificate the edge presented. */
  fingerprint256: string;
}

let ca: TestCa;
/** The files the edge reads its default certificate from; replaced by the reload test. */
let live: { cert: string; key: string };
let edgeCert: CertificatePair;
let otherCert: CertificatePair;
let upstream: Upstream;
let edge: EdgeProcess;
let agent: AgentProcess;
let httpsPort: number;

/** One request over a new TLS connection to the edge's HTTPS listener, verified against the test CA for `servername`. */
function get(servername: string | undefined, path = "/echo", host = `app.e2e.localhost:${httpsPort}`): Promise<TlsReply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: "127.0.0.1",
        port: httpsPort,
        path,
        headers: { host },
        ca: ca.pem,
        agent: false,
        // Without servername Node sends no SNI to an IP address and checks the name against `host`.
        ...(servername ? { servername } : { checkServerIdentity: () => undefined }),
        timeout: 10_000,
      },
      (res) => {
        const fingerprint256 = (res.socket as TLSSocket).getPeerCertificate().fingerprint256;
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body, fingerprint256 }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error("request timed out")));
    req.on("error", reject);
    req.end();
  });
}

/** The certificate a TLS client that sends no SNI at all (one dialling an IP address) gets. */
function noSniFingerprint(): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: "127.0.0.1", port: httpsPort, ca: ca.pem }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.destroy();
    });
    socket.on("error", reject);
  });
}

beforeAll(async () => {
  ca = new TestCa();
  // 127.0.0.1 too: the agent port serves this certificate, and the agent dials 127.0.0.1 and checks it.
  edgeCert = ca.issue("edge", ["*.e2e.localhost", "localhost", "127.0.0.1"]);
  otherCert = ca.issue("other", ["other.test"]);
  live = { cert: `${ca.dir}/live.crt`, key: `${ca.dir}/live.key` };
  copyFileSync(edgeCert.cert, live.cert);
  copyFileSync(edgeCert.key, live.key);
  upstream = await startUpstream();
  edge = await startEdge(["--https-addr", "127.0.0.1:0", "--tls-cert", live.cert, "--tls-key", live.key, "--tls-cert", otherCert.cert, "--tls-key", otherCert.key, "--hsts", "180d"]);
  httpsPort = Number(edge.https!.split(":").pop());
  // An edge with a certificate serves TLS on its agent port too: a loopback agent uses TLS with --edge-ca.
  agent = await startAgent(edge, upstream.target, ["--url", "https://app.e2e.localhost", "--edge-ca", ca.cert]);
});

afterAll(async () => {
  await stopAll();
  await upstream?.close();
  ca?.remove();
});

describe("HTTPS on the public listener", () => {
  it("prints the https:// URL on the HTTPS listener's port", () => {
    expect(agent.proc.stdout).toEqual([`Forwarding https://app.e2e.localhost:${httpsPort} -> http://${upstream.target}`]);
  });

  it("serves an https:// endpoint over TLS, verified against the CA, with X-Forwarded-Proto: https", async () => {
    const reply = await get("app.e2e.localhost");
    expect(reply.status).toBe(200);
    expect(reply.fingerprint256).toBe(edgeCert.fingerprint256);
    const echo = JSON.parse(reply.body);
    expect(echo.headers["x-forwarded-proto"]).toBe("https");
    expect(echo.headers.host).toBe(`app.e2e.localhost:${httpsPort}`);
  });

  it("answers with an Onramp error code for an unknown host, over TLS too", async () => {
    const reply = await get("nobody.e2e.localhost", "/", `nobody.e2e.localhost:${httpsPort}`);
    expect(reply.status).toBe(404);
    expect(reply.headers["onramp-error-code"]).toMatch(/^ERR_ONRAMP_/);
  });

  it("picks the certificate by SNI, the first one without SNI or for an unknown name", async () => {
    expect((await get("other.test", "/hello")).fingerprint256).toBe(otherCert.fingerprint256);
    expect((await get("app.e2e.localhost", "/hello")).fingerprint256).toBe(edgeCert.fingerprint256);
    expect((await get(undefined, "/hello")).fingerprint256).toBe(edgeCert.fingerprint256);
    expect(await noSniFingerprint()).toBe(edgeCert.fingerprint256);
  });

  it("sends Strict-Transport-Security over HTTPS only", async () => {
    expect((await get("app.e2e.localhost", "/hello")).headers["strict-transport-security"]).toBe(`max-age=${180 * 86400}`);
    const plain = await send({ base: edge.httpUrl, host: "app.e2e.localhost", path: "/echo" });
    expect(plain.status).toBe(200);
    expect(plain.headers["strict-transport-security"]).toBeUndefined();
    // The endpoint routes by Host on both listeners: plain HTTP says so to the upstream.
    expect(JSON.parse(plain.body).headers["x-forwarded-proto"]).toBe("http");
  });

  it("serves a renewed certificate to new connections once its files are replaced", async () => {
    const renewed = ca.issue("renewed", ["*.e2e.localhost", "localhost", "127.0.0.1"]);
    copyFileSync(renewed.cert, live.cert);
    copyFileSync(renewed.key, live.key);
    await until("the renewed certificate on a new connection", async () => (await get("app.e2e.localhost", "/hello")).fingerprint256 === renewed.fingerprint256);
    await within(5_000, "the edge's reload log line", edge.proc.waitForLine("stderr", /TLS certificate reloaded/));
    expect((await get("other.test", "/hello")).fingerprint256).toBe(otherCert.fingerprint256);
    expect(await noSniFingerprint()).toBe(renewed.fingerprint256);
  });
});

describe("--redirect-http-to-https", () => {
  it("answers every HTTP request with 308 to the same URL over HTTPS", async () => {
    const redirecting = await startEdge(["--https-addr", "127.0.0.1:0", "--tls-cert", edgeCert.cert, "--tls-key", edgeCert.key, "--redirect-http-to-https"], "edge-redirect");
    const port = redirecting.https!.split(":").pop();
    const reply = await send({ base: redirecting.httpUrl, host: "app.e2e.localhost:8080", path: "/a/b?x=1", method: "POST", body: "data" });
    expect(reply.status).toBe(308);
    expect(reply.headers.location).toBe(`https://app.e2e.localhost:${port}/a/b?x=1`);
    expect(reply.headers["strict-transport-security"]).toBeUndefined();
    await redirecting.proc.stop();
  });

  it("is refused without --https-addr", async () => {
    const proc = startOnramp("edge-no-https", ["edge", "--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0", "--admin-addr", "", "--api-addr", "", "--authtoken", TOKEN, "--redirect-http-to-https"]);
    const { code } = await within(15_000, "the edge to exit", proc.exited);
    expect(code).not.toBe(0);
    expect(proc.stderr.join("\n")).toContain("needs an HTTPS listener: set --https-addr");
  });
});

describe("bad certificates at start", () => {
  const startWith = (args: string[]) =>
    startOnramp("edge-bad-tls", ["edge", "--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0", "--admin-addr", "", "--api-addr", "", "--authtoken", TOKEN, "--https-addr", "127.0.0.1:0", ...args]);

  it("exits non-zero naming a missing file", async () => {
    const missing = `${ca.dir}/missing.crt`;
    const proc = startWith(["--tls-cert", missing, "--tls-key", edgeCert.key]);
    const { code } = await within(15_000, "the edge to exit", proc.exited);
    expect(code).not.toBe(0);
    expect(proc.stderr.join("\n")).toContain(`${missing} cannot be read`);
  });

  it("exits non-zero for an expired certificate or a key that is not the certificate's", async () => {
    const expired = ca.issue("expired", ["app.e2e.localhost"], -1);
    const old = startWith(["--tls-cert", expired.cert, "--tls-key", expired.key]);
    expect((await within(15_000, "the edge to exit", old.exited)).code).not.toBe(0);
    expect(old.stderr.join("\n")).toContain(`${expired.cert} expired on`);
    const mismatched = startWith(["--tls-cert", edgeCert.cert, "--tls-key", otherCert.key]);
    expect((await within(15_000, "the edge to exit", mismatched.exited)).code).not.toBe(0);
    expect(mismatched.stderr.join("\n")).toContain(`${otherCert.key} is not the private key of certificate ${edgeCert.cert}`);
  });
});
