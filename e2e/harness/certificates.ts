import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface CertificatePair {
  cert: string;
  key: string;
  /** SHA-256 fingerprint, as `getPeerCertificate().fingerprint256` reports it. */
  fingerprint256: string;
}

/** A throwaway CA in a temp dir (openssl CLI) that issues leaf certificates for the HTTPS tests. */
export class TestCa {
  readonly dir = mkdtempSync(join(tmpdir(), "onramp-e2e-tls-"));
  readonly cert = join(this.dir, "ca.crt");
  private serial = 1;

  constructor() {
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", join(this.dir, "ca.key"), "-out", this.cert, "-days", "2", "-subj", "/CN=Onramp e2e CA");
  }

  get pem(): string {
    return readFileSync(this.cert, "utf8");
  }

  /** A key and certificate for `names` (subjectAltName: DNS, or IP for an IP address), valid `days` (negative: already expired). */
  issue(name: string, names: string[], days = 2): CertificatePair {
    const cert = join(this.dir, `${name}.crt`);
    const key = join(this.dir, `${name}.key`);
    const ext = join(this.dir, `${name}.ext`);
    writeFileSync(ext, `subjectAltName=${names.map((n) => `${isIP(n) ? "IP" : "DNS"}:${n}`).join(",")}\n`);
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", join(this.dir, `${name}.csr`), "-subj", `/CN=${name}`);
    openssl("x509", "-req", "-in", join(this.dir, `${name}.csr`), "-CA", this.cert, "-CAkey", join(this.dir, "ca.key"), "-set_serial", String(++this.serial), "-days", String(days), "-extfile", ext, "-out", cert);
    return { cert, key, fingerprint256: new X509Certificate(readFileSync(cert)).fingerprint256 };
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function openssl(...args: string[]): void {
  execFileSync("openssl", args, { stdio: "pipe" });
}
