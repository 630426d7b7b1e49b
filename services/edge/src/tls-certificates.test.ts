import { ErrorCode } from "@onramp/errors";
import { silentLogger } from "@onramp/telemetry";
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CertificateStore, loadCertificate, selectCertificate, type TlsCertificateFiles } from "./tls-certificates.js";

let dir: string;
let serial = 1;

/** A key and a certificate signed by the test CA for `names` (DNS SANs), valid for `days` (negative: expired). */
function issue(name: string, names: string[], days = 2): TlsCertificateFiles {
  const files = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  writeFileSync(ext, `subjectAltName=${names.map((n) => `DNS:${n}`).join(",")}\n`);
  openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", files.key, "-out", csr, "-subj", `/CN=${name}`);
  openssl("x509", "-req", "-in", csr, "-CA", join(dir, "ca.crt"), "-CAkey", join(dir, "ca.key"), "-set_serial", String(++serial), "-days", String(days), "-extfile", ext, "-out", files.cert);
  return files;
}

function openssl(...args: string[]): void {
  execFileSync("openssl", args, { stdio: "pipe" });
}

const fingerprintOf = (files: TlsCertificateFiles) => new X509Certificate(readFileSync(files.cert)).fingerprint256;

let edge: TlsCertificateFiles;
let other: TlsCertificateFiles;
let expired: TlsCertificateFiles;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "onramp-tls-"));
  openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", join(dir, "ca.key"), "-out", join(dir, "ca.crt"), "-days", "2", "-subj", "/CN=Onramp test CA");
  edge = issue("edge", ["*.e2e.localhost", "localhost"]);
  other = issue("other", ["api.example.com", "app.e2e.localhost"]);
  expired = issue("expired", ["expired.example.com"], -1);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("loadCertificate", () => {
  it("reads the subjectAltName DNS names and the expiry", () => {
    const loaded = loadCertificate(edge, "--tls-cert");
    expect(loaded.names).toEqual(["*.e2e.localhost", "localhost"]);
    expect(loaded.notAfter.getTime()).toBeGreaterThan(Date.now());
    expect(loaded.fingerprint256).toBe(fingerprintOf(edge));
  });

  it("refuses an unreadable file, naming it", () => {
    const missing = { cert: join(dir, "missing.crt"), key: edge.key };
    expect(() => loadCertificate(missing, "--tls-cert")).toThrow(`--tls-cert certificate ${missing.cert} cannot be read: ENOENT`);
    expect(() => loadCertificate(missing, "x")).toThrow(expect.objectContaining({ code: ErrorCode.InvalidArgument }));
  });

  it("refuses a file that is no certificate or no key", () => {
    expect(() => loadCertificate({ cert: edge.key, key: edge.key }, "l")).toThrow(`certificate ${edge.key}: not a PEM certificate`);
    expect(() => loadCertificate({ cert: edge.cert, key: edge.cert }, "l")).toThrow(`key ${edge.cert}: not an unencrypted PEM private key`);
  });

  it("refuses a key that is not the certificate's", () => {
    expect(() => loadCertificate({ cert: edge.cert, key: other.key }, "l")).toThrow(`key ${other.key} is not the private key of certificate ${edge.cert}`);
  });

  it("refuses an expired certificate", () => {
    expect(() => loadCertificate(expired, "l")).toThrow(new RegExp(`certificate ${expired.cert} expired on .*; renew it`));
  });
});

describe("selectCertificate (SNI)", () => {
  const store = () => [loadCertificate(edge, "a"), loadCertificate(other, "b")];

  it("prefers an exact name over a wildcard, whatever the order", () => {
    expect(selectCertificate(store(), "app.e2e.localhost").files).toBe(other);
    expect(selectCertificate(store(), "API.example.com.").files).toBe(other);
  });

  it("matches a wildcard for exactly one more label", () => {
    expect(selectCertificate(store(), "web.e2e.localhost").files).toBe(edge);
    expect(selectCertificate([loadCertificate(other, "b"), loadCertificate(edge, "a")], "a.b.e2e.localhost").files).toBe(other);
    expect(selectCertificate([loadCertificate(other, "b"), loadCertificate(edge, "a")], "e2e.localhost").files).toBe(other);
  });

  it("falls back to the first certificate without SNI or for an unknown name", () => {
    expect(selectCertificate(store(), undefined).files).toBe(edge);
    expect(selectCertificate(store(), "unknown.test").files).toBe(edge);
  });
});

describe("CertificateStore", () => {
  it("refuses to start without certificates, or with a bad one", () => {
    expect(() => new CertificateStore([], silentLogger())).toThrow("at least one certificate");
    expect(() => new CertificateStore([edge, expired], silentLogger())).toThrow("tlsCertificates[1] certificate");
  });

  it("swaps in a pair whose files changed, and only that pair", () => {
    const live = { cert: join(dir, "live.crt"), key: join(dir, "live.key") };
    copyFileSync(edge.cert, live.cert);
    copyFileSync(edge.key, live.key);
    const store = new CertificateStore([live, other], silentLogger());
    let reloads = 0;
    store.onReload = () => reloads++;
    const before = store.certificates;
    store.checkForChanges();
    expect(store.certificates).toBe(before);
    expect(reloads).toBe(0);
    const renewed = issue("renewed", ["*.e2e.localhost", "localhost"]);
    copyFileSync(renewed.cert, live.cert);
    copyFileSync(renewed.key, live.key);
    store.checkForChanges();
    expect(store.certificates[0]!.fingerprint256).toBe(fingerprintOf(renewed));
    // The HTTPS listener's default certificate (for clients without SNI) is replaced on this call.
    expect(reloads).toBe(1);
    expect(store.certificates[0]!.pem.cert).toBe(readFileSync(renewed.cert, "utf8"));
    expect(store.certificates[1]).toBe(before[1]);
    expect(store.contextFor("x.e2e.localhost")).toBe(store.certificates[0]!.context);
  });

  it("keeps the old pair when the new files are broken, and takes them once fixed", () => {
    const live = { cert: join(dir, "live2.crt"), key: join(dir, "live2.key") };
    copyFileSync(edge.cert, live.cert);
    copyFileSync(edge.key, live.key);
    const errors: unknown[] = [];
    const logger = { ...silentLogger(), error: (fields: unknown) => void errors.push(fields) } as unknown as ReturnType<typeof silentLogger>;
    const store = new CertificateStore([live], logger);
    const old = store.certificates[0];
    // A renewal written certificate first: for a moment the key does not match.
    const renewed = issue("renewed2", ["localhost"]);
    copyFileSync(renewed.cert, live.cert);
    store.checkForChanges();
    expect(store.certificates[0]).toBe(old);
    expect(errors).toHaveLength(1);
    // Not retried (nor logged again) until the files change once more.
    store.checkForChanges();
    expect(errors).toHaveLength(1);
    copyFileSync(renewed.key, live.key);
    store.checkForChanges();
    expect(store.certificates[0]!.fingerprint256).toBe(fingerprintOf(renewed));
    // An expired replacement is refused too.
    copyFileSync(expired.cert, live.cert);
    copyFileSync(expired.key, live.key);
    store.checkForChanges();
    expect(store.certificates[0]!.fingerprint256).toBe(fingerprintOf(renewed));
    expect(errors).toHaveLength(2);
  });
});
