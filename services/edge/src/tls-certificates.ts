import { ErrorCode, OnrampError } from "@onramp/errors";
import type { Logger } from "@onramp/telemetry";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { createSecureContext, type SecureContext } from "node:tls";

/** One certificate for the public HTTPS listener: PEM files, the certificate file may carry the chain after the leaf. */
export interface TlsCertificateFiles {
  cert: string;
  key: string;
}

/** A loaded, checked certificate. Immutable: a reload builds a new one and swaps it in. */
export interface LoadedCertificate {
  readonly files: TlsCertificateFiles;
  /** DNS names of the subjectAltName, lowercase; `*.example.com` for wildcards. */
  readonly names: readonly string[];
  readonly notAfter: Date;
  readonly fingerprint256: string;
  readonly context: SecureContext;
  /** The PEM text, for a tls.Server's default certificate (clients that send no SNI). */
  readonly pem: { readonly cert: string; readonly key: string };
}

/**
 * 5 s: a renewed certificate (certbot, cert-manager) is served within seconds, at the cost of two
 * `stat` calls per certificate; polling also sees files replaced by rename, which fs.watch may miss.
 */
export const CERTIFICATE_POLL_MS = 5_000;

/**
 * Reads and checks a certificate pair: both files readable, the key the certificate's, the
 * certificate not expired. Errors name the file and `label` (the flag or option it came from).
 */
export function loadCertificate(files: TlsCertificateFiles, label: string, now = new Date()): LoadedCertificate {
  const certPem = read(files.cert, `${label} certificate`);
  const keyPem = read(files.key, `${label} key`);
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(certPem);
  } catch (err) {
    throw bad(`${label} certificate ${files.cert}: not a PEM certificate (${(err as Error).message})`, err);
  }
  try {
    if (!x509.checkPrivateKey(createPrivateKey(keyPem))) {
      throw bad(`${label} key ${files.key} is not the private key of certificate ${files.cert}`);
    }
  } catch (err) {
    if (err instanceof OnrampError) throw err;
    throw bad(`${label} key ${files.key}: not an unencrypted PEM private key (${(err as Error).message})`, err);
  }
  const notAfter = new Date(x509.validTo);
  // An expired certificate fails every client's handshake: refusing it is louder than serving it.
  if (notAfter.getTime() <= now.getTime()) {
    throw bad(`${label} certificate ${files.cert} expired on ${notAfter.toISOString()}; renew it`);
  }
  let context: SecureContext;
  try {
    context = createSecureContext({ cert: certPem, key: keyPem });
  } catch (err) {
    throw bad(`${label} certificate ${files.cert}: ${(err as Error).message}`, err);
  }
  return { files, names: dnsNamesOf(x509), notAfter, fingerprint256: x509.fingerprint256, context, pem: { cert: certPem, key: keyPem } };
}

/** `DNS:` entries of the subjectAltName; a certificate without any only serves as the default. */
function dnsNamesOf(x509: X509Certificate): string[] {
  return (x509.subjectAltName ?? "")
    .split(/,\s*/)
    .filter((entry) => entry.startsWith("DNS:"))
    .map((entry) => entry.slice(4).trim().toLowerCase().replace(/\.$/, ""));
}

/**
 * The certificate for a TLS ClientHello's server name: an exact subjectAltName match first, then a
 * wildcard (`*.example.com` covers exactly one more label, RFC 6125 §6.4.3), each in the order the
 * certificates were given; else the first certificate (no SNI, an IP address, an unknown name).
 */
export function selectCertificate(certificates: readonly LoadedCertificate[], servername: string | undefined): LoadedCertificate {
  return matchCertificate(certificates, servername) ?? certificates[0]!;
}

/** The certificate whose names cover `servername` (as `selectCertificate`), without the default. */
export function matchCertificate(certificates: readonly LoadedCertificate[], servername: string | undefined): LoadedCertificate | undefined {
  const name = servername?.toLowerCase().replace(/\.$/, "");
  if (name) {
    const exact = certificates.find((c) => c.names.includes(name));
    if (exact) return exact;
    const dot = name.indexOf(".");
    if (dot > 0) {
      const wildcard = `*${name.slice(dot)}`;
      const match = certificates.find((c) => c.names.includes(wildcard));
      if (match) return match;
    }
  }
  return undefined;
}

/**
 * The public listener's certificates, checked at construction (a bad one fails the start) and
 * reloaded when their files change: each pair is swapped whole, so a handshake sees the old pair
 * or the new one, never a mix; a broken new pair is logged and the old one kept.
 */
export class CertificateStore {
  private current: LoadedCertificate[];
  private readonly seen: string[];
  private timer: NodeJS.Timeout | undefined;
  /** Called after a pair was reloaded, e.g. to give a tls.Server its new default certificate. */
  onReload: (() => void) | undefined;

  constructor(
    private readonly files: readonly TlsCertificateFiles[],
    private readonly logger: Logger,
    private readonly labelOf: (index: number) => string = (i) => `tlsCertificates[${i}]`,
  ) {
    if (files.length === 0) throw bad("the HTTPS listener needs at least one certificate and key");
    this.seen = files.map(signatureOf);
    this.current = files.map((f, i) => loadCertificate(f, labelOf(i)));
  }

  get certificates(): readonly LoadedCertificate[] {
    return this.current;
  }

  /** The certificate covering `servername`, if any (no default): for ACME, which orders the others. */
  matching(servername: string | undefined): LoadedCertificate | undefined {
    return matchCertificate(this.current, servername);
  }

  /** For `SNICallback`. */
  contextFor(servername: string | undefined): SecureContext {
    return selectCertificate(this.current, servername).context;
  }

  /**
   * Reloads every pair whose files changed since last looked at. A pair that fails to load is not
   * tried again until its files change once more (a cert written before its key is caught then).
   */
  checkForChanges(now = new Date()): void {
    this.files.forEach((files, i) => {
      const signature = signatureOf(files);
      if (signature === this.seen[i]) return;
      this.seen[i] = signature;
      try {
        const loaded = loadCertificate(files, this.labelOf(i), now);
        this.current = this.current.map((c, j) => (j === i ? loaded : c));
        this.logger.info({ cert: files.cert, names: loaded.names, not_after: loaded.notAfter.toISOString() }, "TLS certificate reloaded");
        this.onReload?.();
      } catch (err) {
        this.logger.error({ cert: files.cert, err: (err as Error).message }, "TLS certificate not reloaded: keeping the previous one");
      }
    });
  }

  /** Polls the files every `intervalMs` until `close()`. */
  watch(intervalMs = CERTIFICATE_POLL_MS): void {
    this.timer ??= setInterval(() => this.checkForChanges(), intervalMs).unref();
  }

  close(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** What changes when a file is rewritten or replaced by rename; "" for a missing file. */
function signatureOf(files: TlsCertificateFiles): string {
  return [files.cert, files.key]
    .map((path) => {
      try {
        const s = statSync(path);
        return `${s.ino}:${s.size}:${s.mtimeMs}`;
      } catch {
        return "";
      }
    })
    .join("|");
}

function read(path: string, what: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (err) {
    throw bad(`${what} ${path} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, err);
  }
}

function bad(message: string, cause?: unknown): OnrampError {
  return new OnrampError(ErrorCode.InvalidArgument, message, cause === undefined ? undefined : { cause });
}
