import { createHash } from "node:crypto";
import { PREFIX } from "./keys.js";

/**
 * Certificates an edge obtained by ACME, shared by every edge of a mesh. Keys (etcd):
 *
 *   /onramp/v1/acme/certificates/<hostname>        StoredCertificate   (durable)
 *   /onramp/v1/acme/accounts/<sha256 of directory> AcmeAccountRecord   (durable)
 *   /onramp/v1/acme/challenges/<key>               challenge answer    (lease: the challenge's TTL)
 *   /onramp/v1/acme/locks/<hostname>               edge id             (lease: the order's TTL)
 *
 * The private keys are stored as they are: whoever can read the registry can already route every
 * hostname anywhere, so it is guarded like the certificates' keys (docs/security.md).
 */
export const ACME = `${PREFIX}acme/`;
export const ACME_CERTIFICATES = `${ACME}certificates/`;
export const ACME_ACCOUNTS = `${ACME}accounts/`;
export const ACME_CHALLENGES = `${ACME}challenges/`;
export const ACME_LOCKS = `${ACME}locks/`;

export const certificateKey = (hostname: string): string => `${ACME_CERTIFICATES}${hostname}`;
export const acmeAccountKey = (directory: string): string => `${ACME_ACCOUNTS}${createHash("sha256").update(directory).digest("hex").slice(0, 32)}`;
export const acmeChallengeKey = (key: string): string => `${ACME_CHALLENGES}${key}`;
export const acmeLockKey = (hostname: string): string => `${ACME_LOCKS}${hostname}`;

/** A certificate for one hostname and its private key, PEM. */
export interface StoredCertificate {
  hostname: string;
  /** The leaf first, then the chain the CA sent. */
  cert: string;
  key: string;
  not_before: string;
  not_after: string;
  /** The ACME directory that issued it. */
  directory: string;
  /** The edge that ordered it. */
  ordered_by: string;
}

/** The ACME account every edge of a mesh uses with one directory. */
export interface AcmeAccountRecord {
  directory: string;
  /** The account's private key, PEM. */
  key: string;
  /** The account URL the directory gave it. */
  url: string;
  created_at: string;
}

/** The right to order a hostname's certificate, until released or `ttlMs` after it was taken. */
export interface CertificateLock {
  readonly hostname: string;
  release(): Promise<void>;
}

/**
 * Where ACME certificates, the account and the pending challenges live, so that every edge serves
 * them and answers any challenge whichever edge the CA's validation reaches. Implementations:
 * `createMemoryCertificateStore` (one process; share the object between edges) and
 * `createEtcdCertificateStore`.
 */
export interface CertificateStore {
  getCertificate(hostname: string): Promise<StoredCertificate | undefined>;
  listCertificates(): Promise<StoredCertificate[]>;
  putCertificate(certificate: StoredCertificate): Promise<void>;
  getAccount(directory: string): Promise<AcmeAccountRecord | undefined>;
  /** Stores `account` unless the directory has one; resolves with the one stored, which may be another edge's. */
  createAccount(account: AcmeAccountRecord): Promise<AcmeAccountRecord>;
  /** A challenge answer (HTTP-01 key authorization, TLS-ALPN-01 certificate) for `ttlMs`. */
  putChallenge(key: string, value: string, ttlMs: number): Promise<void>;
  getChallenge(key: string): Promise<string | undefined>;
  deleteChallenge(key: string): Promise<void>;
  /**
   * Takes the order lock of `hostname` for `holder` unless anyone holds it; undefined when someone
   * does. The lock lapses after `ttlMs` if never released (an edge that died mid-order).
   */
  lockOrder(hostname: string, holder: string, ttlMs: number): Promise<CertificateLock | undefined>;
  close(): Promise<void>;
}
