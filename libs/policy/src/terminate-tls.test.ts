import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConnTls } from "./conn-tls.js";
import { createRequestContext, createTcpContext, type ConnInfo } from "./context.js";
import { formatPolicyErrors } from "./policy-error.js";
import { loadPolicy } from "./load-policy.js";
import { createPolicyRuntime } from "./runtime.js";

// terminate-tls and conn.tls.* (docs/traffic-policy.md) against certificates made with openssl.
let dir: string;
let ca: string;
let leaf: Uint8Array;
let strangerLeaf: Uint8Array;

function openssl(...args: string[]): void {
  execFileSync("openssl", args, { stdio: "pipe" });
}

function issue(caName: string, name: string): Uint8Array {
  writeFileSync(join(dir, `${name}.ext`), `subjectAltName=DNS:${name}.example.com,email:${name}@example.com,IP:10.0.0.1\n`);
  openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", join(dir, `${name}.key`), "-out", join(dir, `${name}.csr`), "-subj", `/C=NL/O=Example/CN=${name}`);
  openssl("x509", "-req", "-in", join(dir, `${name}.csr`), "-CA", join(dir, `${caName}.crt`), "-CAkey", join(dir, `${caName}.key`), "-set_serial", "0x1f", "-days", "2", "-extfile", join(dir, `${name}.ext`), "-out", join(dir, `${name}.crt`));
  return new Uint8Array(new X509Certificate(readFileSync(join(dir, `${name}.crt`))).raw);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "onramp-terminate-tls-"));
  for (const name of ["ca", "other"]) {
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", join(dir, `${name}.key`), "-out", join(dir, `${name}.crt`), "-days", "2", "-subj", `/CN=${name} CA`);
  }
  ca = readFileSync(join(dir, "ca.crt"), "utf8");
  leaf = issue("ca", "alice");
  strangerLeaf = issue("other", "mallory");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const endpoint = { id: "ep", url: "https://app.example.com", host: "app.example.com", protocol: "https" as const };

function conn(tls: ConnTls | undefined): ConnInfo {
  return { clientIp: "192.0.2.1", clientPort: 4000, startedAtMs: Date.now(), tls: () => tls };
}

function tls(version: string, clientCertificates: Uint8Array[] = []): ConnTls {
  return { version, cipherSuite: "TLS_AES_128_GCM_SHA256", sni: "app.example.com", clientCertificates };
}

function policyWith(config: Record<string, unknown>) {
  const loaded = loadPolicy(JSON.stringify({ on_tcp_connect: [{ name: "tls", actions: [{ type: "terminate-tls", config }] }] }));
  if (!loaded.ok) throw new Error(formatPolicyErrors(loaded.errors));
  return loaded.policy;
}

function errorsOf(yaml: string): string {
  const loaded = loadPolicy(yaml);
  return loaded.ok ? "" : formatPolicyErrors(loaded.errors);
}

const outcome = (config: Record<string, unknown>, t: ConnTls | undefined) => policyWith(config).onTcpConnect(createTcpContext({ conn: conn(t), endpoint }), createPolicyRuntime());

describe("terminate-tls", () => {
  it("closes a connection outside min_version..max_version, and a plaintext one", () => {
    expect(outcome({ min_version: "1.3" }, tls("1.2")).kind).toBe("close");
    expect(outcome({ min_version: "1.3" }, tls("1.3")).kind).toBe("allow");
    expect(outcome({ max_version: "1.2" }, tls("1.3")).kind).toBe("close");
    const plain = outcome({}, undefined);
    expect(plain.kind).toBe("close");
    expect(plain.logs[0]).toMatchObject({ kind: "log", ruleName: "tls", metadata: { action: "terminate-tls", error_code: "ERR_ONRAMP_ACCESS_DENIED", reason: "the connection is not TLS" } });
  });

  it("with mutual TLS, lets through a client whose certificate chains to a CA, and closes others", () => {
    const config = { mutual_tls_certificate_authorities: [ca] };
    expect(outcome(config, tls("1.3", [leaf])).kind).toBe("allow");
    expect(outcome(config, tls("1.3", [strangerLeaf])).kind).toBe("close");
    expect(outcome(config, tls("1.3")).logs[0]).toMatchObject({ metadata: { reason: "the client sent no certificate" } });
    expect(outcome({ ...config, mutual_tls_verification_strategy: "require-any" }, tls("1.3", [strangerLeaf])).kind).toBe("allow");
    expect(outcome({ ...config, mutual_tls_verification_strategy: "request" }, tls("1.3")).kind).toBe("allow");
  });

  it("tells the edge to ask for client certificates only when it checks them", () => {
    expect(policyWith({ mutual_tls_certificate_authorities: [ca] }).requestsClientCertificates).toBe(true);
    expect(policyWith({ min_version: "1.3" }).requestsClientCertificates).toBe(false);
  });

  it("takes versions written as YAML numbers", () => {
    expect(errorsOf("on_tcp_connect:\n  - actions:\n      - type: terminate-tls\n        config:\n          min_version: 1.3\n")).toBe("");
  });

  it("refuses bad config at load, naming the field", () => {
    const load = (config: string) => errorsOf(`on_tcp_connect:\n  - actions:\n      - type: terminate-tls\n        config:\n${config}`);
    expect(load("          min_version: '1.1'\n")).toContain('actions[0].config.min_version: must be one of "1.2", "1.3", got "1.1"');
    expect(load("          min_version: '1.3'\n          max_version: '1.2'\n")).toContain("min_version 1.3 is above max_version 1.2");
    expect(load("          server_certificate: x\n          server_private_key: y\n")).toContain("config.server_certificate: is not supported");
    expect(load("          mutual_tls_certificate_authorities: [ca_2abc]\n")).toContain("mutual_tls_certificate_authorities[0]: must be a PEM certificate");
    expect(load("          mutual_tls_verification_strategy: require-and-verify\n")).toContain("needs mutual_tls_certificate_authorities");
    expect(errorsOf("on_http_request:\n  - actions:\n      - type: terminate-tls\n")).toContain("terminate-tls");
  });
});

describe("conn.tls", () => {
  async function read(expression: string, t: ConnTls | undefined): Promise<string> {
    const loaded = loadPolicy(JSON.stringify({ on_http_request: [{ actions: [{ type: "custom-response", config: { status_code: 200, body: `\${${expression}}` } }] }] }));
    if (!loaded.ok) throw new Error(formatPolicyErrors(loaded.errors));
    const request = { method: "GET", scheme: "https" as const, host: "app.example.com", path: "/", rawQuery: "", headers: new Map<string, string[]>(), version: "1.1" };
    const out = await loaded.policy.onHttpRequest(createRequestContext({ conn: conn(t), endpoint, request }), createPolicyRuntime());
    if (out.kind !== "respond") throw new Error(`no response: ${out.kind}`);
    return Buffer.from(out.body ?? "").toString("utf8");
  }

  it("has the handshake and the client certificate's fields", async () => {
    const t = tls("1.3", [leaf]);
    expect(await read("conn.tls.version + ' ' + conn.tls.cipher_suite + ' ' + conn.tls.sni", t)).toBe("1.3 TLS_AES_128_GCM_SHA256 app.example.com");
    expect(await read("conn.tls.client_cert.subject", t)).toBe("CN=alice,O=Example,C=NL");
    expect(await read("conn.tls.client_cert.subject.organization + '/' + conn.tls.client_cert.issuer.common_name", t)).toBe("Example/ca CA");
    expect(await read("conn.tls.client_cert.serial_number", t)).toBe("1f");
    const sans = "conn.tls.client_cert.extensions.subject_alternative_name";
    expect(await read(`${sans}.dns_names[0] + ' ' + ${sans}.email_addresses[0] + ' ' + ${sans}.ip_addresses[0]`, t)).toBe("alice.example.com alice@example.com 10.0.0.1");
    expect(await read("string(conn.tls.client_cert.validity.not_after > timestamp(time.now))", t)).toBe("true");
    expect(await read("size(conn.tls.client_cert.sha256_fingerprint) == 64 ? 'ok' : 'no'", t)).toBe("ok");
  });

  it("is empty on a plaintext connection", async () => {
    expect(await read("'[' + conn.tls.version + conn.tls.sni + conn.tls.client_cert.subject + ']' + string(size(conn.tls.client_cert.extensions.subject_alternative_name.dns_names))", undefined)).toBe("[]0");
  });
});
