import { ErrorCode, OnrampError } from "@onramp/errors";
import type { CertificateStore as SharedCertificateStore } from "@onramp/registry";

export type AcmeChallengeType = "http-01" | "tls-alpn-01";

/** Let's Encrypt's production directory (RFC 8555 §7.1.1). */
export const LETS_ENCRYPT_DIRECTORY = "https://acme-v02.api.letsencrypt.org/directory";

/**
 * Certificates by ACME (RFC 8555) for the hostnames this mesh serves: the exact hostnames of
 * bound or cloud endpoints and reserved domains, never any other name a client sends (SNI).
 */
export interface AcmeOptions {
  /** Contact address of the ACME account; Let's Encrypt sends expiry warnings there. Default none. */
  email?: string;
  /** The ACME directory URL. Default Let's Encrypt's production directory. */
  directoryUrl?: string;
  /**
   * How the CA validates a name: `http-01` (a request to port 80 of the name, answered by the
   * HTTP listener) or `tls-alpn-01` (RFC 8737, a TLS handshake on port 443, answered by the HTTPS
   * listener). Default `http-01`.
   */
  challenge?: AcmeChallengeType;
  /** PEM certificates to trust for the directory's HTTPS (a private or test CA). Default: the system CAs. */
  ca?: string;
  /**
   * Where certificates, the account, challenges and order locks live. Default: in memory (this
   * edge alone). In a mesh, the registry's (`createEtcdCertificateStore`). Closed by the edge.
   */
  store?: SharedCertificateStore;
  /** How often the store is read for certificates other edges obtained and renewals are due, in ms. Default 10 s. */
  pollMs?: number;
  /**
   * A handshake for a hostname without a certificate waits this long for the order it starts, in
   * ms; then it gets the default certificate, or none. Default 10 s: an order typically takes a few seconds.
   */
  handshakeWaitMs?: number;
  /** After a failed order, the hostname is not tried again for this long, doubled on each failure, in ms. Default 1 min. */
  retryMinMs?: number;
  /** The longest wait between failed orders, in ms. Default 6 h: Let's Encrypt allows 5 failed validations per hostname an hour. */
  retryMaxMs?: number;
}

export interface ResolvedAcmeOptions {
  email: string | undefined;
  directoryUrl: string;
  challenge: AcmeChallengeType;
  ca: string | undefined;
  store: SharedCertificateStore | undefined;
  pollMs: number;
  handshakeWaitMs: number;
  retryMinMs: number;
  retryMaxMs: number;
}

export function resolveAcmeOptions(options: AcmeOptions): ResolvedAcmeOptions {
  const email = options.email?.trim() || undefined;
  if (email !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) throw bad("email", `${JSON.stringify(email)} is not an email address`);
  const directoryUrl = options.directoryUrl?.trim() || LETS_ENCRYPT_DIRECTORY;
  let parsed: URL | undefined;
  try {
    parsed = new URL(directoryUrl);
  } catch {
    parsed = undefined;
  }
  // RFC 8555 §6.1: ACME runs over HTTPS only.
  if (parsed?.protocol !== "https:") throw bad("directoryUrl", `${JSON.stringify(directoryUrl)} is not an https:// URL`);
  const challenge = options.challenge ?? "http-01";
  if (challenge !== "http-01" && challenge !== "tls-alpn-01") throw bad("challenge", `${JSON.stringify(challenge)} is not http-01 or tls-alpn-01`);
  const ca = options.ca?.trim() ? options.ca : undefined;
  if (ca !== undefined && !ca.includes("-----BEGIN CERTIFICATE-----")) throw bad("ca", "must be PEM certificates (-----BEGIN CERTIFICATE-----)");
  const retryMinMs = integer("retryMinMs", options.retryMinMs ?? 60_000, 10);
  return {
    email,
    directoryUrl,
    challenge,
    ca,
    store: options.store,
    pollMs: integer("pollMs", options.pollMs ?? 10_000, 10),
    handshakeWaitMs: integer("handshakeWaitMs", options.handshakeWaitMs ?? 10_000, 0),
    retryMinMs,
    retryMaxMs: integer("retryMaxMs", options.retryMaxMs ?? 6 * 3_600_000, retryMinMs),
  };
}

function integer(field: string, value: number, min: number): number {
  // Node timers hold at most 2^31-1 ms.
  if (!Number.isInteger(value) || value < min || value > 2 ** 31 - 1) throw bad(field, `must be an integer from ${min} to ${2 ** 31 - 1}, got ${value}`);
  return value;
}

function bad(field: string, why: string): OnrampError {
  return new OnrampError(ErrorCode.InvalidArgument, `edge option acme.${field}: ${why}`);
}
