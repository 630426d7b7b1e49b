import type { Etcd3 } from "etcd3";
import {
  ACME_CERTIFICATES,
  acmeAccountKey,
  acmeChallengeKey,
  acmeLockKey,
  certificateKey,
  type AcmeAccountRecord,
  type CertificateLock,
  type CertificateStore,
  type StoredCertificate,
} from "./certificate-store.js";
import { createKey, deleteKey, readKey, readPrefix } from "./etcd-control-kv.js";
import { absent, bytes, callEtcd, createEtcdClient, parse } from "./etcd-kv.js";
import { resolveEtcdRegistryOptions, type EtcdRegistryOptions, type ResolvedEtcdRegistryOptions } from "./etcd-options.js";

/**
 * 5 s: etcd's smallest lease TTL is about 2 s (it follows the election timeout); shorter locks
 * and challenges are rounded up to this.
 */
const MIN_LEASE_SECONDS = 5;

/**
 * The certificate store of a mesh, in etcd. Certificates and accounts are durable keys; an order
 * lock and a challenge answer are keys under a lease of their TTL, written only if absent (lock)
 * in one transaction, so two edges never both hold a hostname's lock.
 */
export function createEtcdCertificateStore(options: EtcdRegistryOptions): CertificateStore {
  const opts = resolveEtcdRegistryOptions(options);
  const client = createEtcdClient(opts);
  const read = async <T>(key: string): Promise<T | undefined> => {
    const kv = await readKey(client, opts, key);
    return kv && parse<T>(kv);
  };

  return {
    getCertificate: (hostname) => read<StoredCertificate>(certificateKey(hostname)),
    async listCertificates() {
      return (await readPrefix(client, opts, ACME_CERTIFICATES)).map((kv) => parse<StoredCertificate>(kv)).filter((c) => c !== undefined);
    },
    async putCertificate(certificate) {
      await callEtcd(opts, (o) => client.kv.put({ key: bytes(certificateKey(certificate.hostname)), value: bytes(JSON.stringify(certificate)) }, o));
    },
    getAccount: (directory) => read<AcmeAccountRecord>(acmeAccountKey(directory)),
    async createAccount(account) {
      const key = acmeAccountKey(account.directory);
      if ((await createKey(client, opts, key, JSON.stringify(account))) !== undefined) return account;
      return (await read<AcmeAccountRecord>(key)) ?? account;
    },
    async putChallenge(key, value, ttlMs) {
      const leaseId = await grantLease(client, opts, ttlMs);
      await callEtcd(opts, (o) => client.kv.put({ key: bytes(acmeChallengeKey(key)), value: bytes(value), lease: leaseId }, o));
    },
    async getChallenge(key) {
      return (await readKey(client, opts, acmeChallengeKey(key)))?.value.toString();
    },
    async deleteChallenge(key) {
      await deleteKey(client, opts, acmeChallengeKey(key));
    },
    async lockOrder(hostname, holder, ttlMs): Promise<CertificateLock | undefined> {
      const key = acmeLockKey(hostname);
      const leaseId = await grantLease(client, opts, ttlMs);
      const res = await callEtcd(opts, (o) =>
        client.kv.txn({ compare: [absent(key)], success: [{ request_put: { key: bytes(key), value: bytes(holder), lease: leaseId } }] }, o),
      );
      const revoke = () => callEtcd(opts, (o) => client.leaseClient.leaseRevoke({ ID: leaseId }, o)).then(() => undefined);
      if (!res.succeeded) {
        await revoke().catch(() => undefined);
        return undefined;
      }
      // Revoking the lease deletes the key, and only this lock's key: a lapsed one is gone already.
      return { hostname, release: revoke };
    },
    async close() {
      client.close();
    },
  };
}

async function grantLease(client: Etcd3, opts: ResolvedEtcdRegistryOptions, ttlMs: number): Promise<string> {
  const TTL = Math.max(MIN_LEASE_SECONDS, Math.ceil(ttlMs / 1000));
  const res = await callEtcd(opts, (o) => client.leaseClient.leaseGrant({ TTL, ID: 0 }, o));
  return res.ID;
}
