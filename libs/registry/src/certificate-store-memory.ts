import type { AcmeAccountRecord, CertificateLock, CertificateStore, StoredCertificate } from "./certificate-store.js";

/**
 * A certificate store in this process: edges given the same object share certificates, account,
 * challenges and order locks, as edges sharing an etcd do. `close()` keeps the contents, since
 * other edges may still use them.
 */
export function createMemoryCertificateStore(now: () => number = Date.now): CertificateStore {
  const certificates = new Map<string, StoredCertificate>();
  const accounts = new Map<string, AcmeAccountRecord>();
  const challenges = new Map<string, { value: string; expires: number }>();
  const locks = new Map<string, { holder: string; token: object; expires: number }>();
  const copy = <T>(value: T): T => structuredClone(value);

  return {
    async getCertificate(hostname) {
      const found = certificates.get(hostname);
      return found && copy(found);
    },
    async listCertificates() {
      return [...certificates.values()].map(copy);
    },
    async putCertificate(certificate) {
      certificates.set(certificate.hostname, copy(certificate));
    },
    async getAccount(directory) {
      const found = accounts.get(directory);
      return found && copy(found);
    },
    async createAccount(account) {
      if (!accounts.has(account.directory)) accounts.set(account.directory, copy(account));
      return copy(accounts.get(account.directory)!);
    },
    async putChallenge(key, value, ttlMs) {
      challenges.set(key, { value, expires: now() + ttlMs });
    },
    async getChallenge(key) {
      const found = challenges.get(key);
      if (found && found.expires <= now()) challenges.delete(key);
      return found && found.expires > now() ? found.value : undefined;
    },
    async deleteChallenge(key) {
      challenges.delete(key);
    },
    async lockOrder(hostname, holder, ttlMs): Promise<CertificateLock | undefined> {
      const held = locks.get(hostname);
      if (held && held.expires > now()) return undefined;
      const token = {};
      locks.set(hostname, { holder, token, expires: now() + ttlMs });
      return {
        hostname,
        release: async () => {
          // Only this lock: one that lapsed and was taken by another edge stays theirs.
          if (locks.get(hostname)?.token === token) locks.delete(hostname);
        },
      };
    },
    async close() {},
  };
}
