import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TlsCertificateFiles } from "./tls-certificates.js";

/** For tests: CAs and certificates made with openssl in a temporary directory (EC P-256, two days). */
export interface TestPki {
  readonly dir: string;
  /** A new self-signed CA; returns its certificate's PEM. */
  ca(name: string): string;
  /** A certificate for `name` signed by CA `caName`, with `subjectAltName` (e.g. `IP:127.0.0.1,DNS:localhost`). */
  issue(caName: string, name: string, subjectAltName: string): TlsCertificateFiles & { pem: { cert: string; key: string } };
  remove(): void;
}

export function createTestPki(prefix = "onramp-pki-"): TestPki {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  let serial = 1;
  const openssl = (...args: string[]) => void execFileSync("openssl", args, { stdio: "pipe" });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  return {
    dir,
    ca(name) {
      openssl("req", "-x509", ...ec, "-keyout", join(dir, `${name}.key`), "-out", join(dir, `${name}.crt`), "-days", "2", "-subj", `/CN=${name}`);
      return readFileSync(join(dir, `${name}.crt`), "utf8");
    },
    issue(caName, name, subjectAltName) {
      const files = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
      writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${subjectAltName}\n`);
      openssl("req", ...ec, "-keyout", files.key, "-out", join(dir, `${name}.csr`), "-subj", `/CN=${name}`);
      openssl("x509", "-req", "-in", join(dir, `${name}.csr`), "-CA", join(dir, `${caName}.crt`), "-CAkey", join(dir, `${caName}.key`), "-set_serial", String(++serial), "-days", "2", "-extfile", join(dir, `${name}.ext`), "-out", files.cert);
      return { ...files, pem: { cert: readFileSync(files.cert, "utf8"), key: readFileSync(files.key, "utf8") } };
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
