import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { etcdAvailable, etcdGateway, startEtcd, type EtcdServer } from "../../../e2e/harness/etcd-server.js";
import { createEtcdCertificateStore } from "./certificate-store-etcd.js";
import { createMemoryCertificateStore } from "./certificate-store-memory.js";
import { ACME, type CertificateStore, type StoredCertificate } from "./certificate-store.js";

function certificate(hostname: string, notAfter = "2030-01-01T00:00:00.000Z"): StoredCertificate {
  return { hostname, cert: "-----BEGIN CERTIFICATE-----", key: "-----BEGIN PRIVATE KEY-----", not_before: "2026-01-01T00:00:00.000Z", not_after: notAfter, directory: "https://ca.test/dir", ordered_by: "edge-a" };
}

/** One suite, run against each implementation: two stores opened on the same backend act as two edges. */
function certificateStoreContract(name: string, open: () => CertificateStore, clear: () => Promise<void>): void {
  describe(`${name} certificate store`, () => {
    it("keeps certificates per hostname, replaced on renewal, seen by every edge", async () => {
      await clear();
      const [a, b] = [open(), open()];
      expect(await a.getCertificate("app.example.test")).toBeUndefined();
      await a.putCertificate(certificate("app.example.test"));
      await a.putCertificate(certificate("other.example.test"));
      expect((await b.getCertificate("app.example.test"))?.not_after).toBe("2030-01-01T00:00:00.000Z");
      await b.putCertificate(certificate("app.example.test", "2031-01-01T00:00:00.000Z"));
      expect((await a.getCertificate("app.example.test"))?.not_after).toBe("2031-01-01T00:00:00.000Z");
      expect((await a.listCertificates()).map((c) => c.hostname).sort()).toEqual(["app.example.test", "other.example.test"]);
      await Promise.all([a.close(), b.close()]);
    });

    it("keeps the first account created for a directory", async () => {
      await clear();
      const [a, b] = [open(), open()];
      const account = { directory: "https://ca.test/dir", key: "key-a", url: "https://ca.test/acct/1", created_at: new Date().toISOString() };
      expect(await a.createAccount(account)).toEqual(account);
      expect(await b.createAccount({ ...account, key: "key-b", url: "https://ca.test/acct/2" })).toEqual(account);
      expect(await b.getAccount("https://ca.test/dir")).toEqual(account);
      expect(await b.getAccount("https://other.test/dir")).toBeUndefined();
      await Promise.all([a.close(), b.close()]);
    });

    it("shares challenge answers until deleted", async () => {
      await clear();
      const [a, b] = [open(), open()];
      await a.putChallenge("http-01/token1", "token1.thumbprint", 60_000);
      expect(await b.getChallenge("http-01/token1")).toBe("token1.thumbprint");
      await b.deleteChallenge("http-01/token1");
      expect(await a.getChallenge("http-01/token1")).toBeUndefined();
      await Promise.all([a.close(), b.close()]);
    });

    it("lets one edge at a time hold a hostname's order lock", async () => {
      await clear();
      const [a, b] = [open(), open()];
      const [first, second] = await Promise.all([a.lockOrder("app.example.test", "edge-a", 60_000), b.lockOrder("app.example.test", "edge-b", 60_000)]);
      expect([first, second].filter((l) => l !== undefined)).toHaveLength(1);
      const held = (first ?? second)!;
      expect(await a.lockOrder("app.example.test", "edge-a", 60_000)).toBeUndefined();
      const other = await b.lockOrder("other.example.test", "edge-b", 60_000);
      expect(other).toBeDefined();
      await held.release();
      const again = await b.lockOrder("app.example.test", "edge-b", 60_000);
      expect(again).toBeDefined();
      await Promise.all([again!.release(), other!.release()]);
      await Promise.all([a.close(), b.close()]);
    });
  });
}

describe("memory", () => {
  let shared = createMemoryCertificateStore();
  certificateStoreContract("memory", () => shared, async () => void (shared = createMemoryCertificateStore()));

  it("lets a lock lapse after its TTL (an edge that died mid-order)", async () => {
    let now = 0;
    const store = createMemoryCertificateStore(() => now);
    expect(await store.lockOrder("app.example.test", "edge-a", 1_000)).toBeDefined();
    expect(await store.lockOrder("app.example.test", "edge-b", 1_000)).toBeUndefined();
    now = 1_000;
    expect(await store.lockOrder("app.example.test", "edge-b", 1_000)).toBeDefined();
  });
});

const etcdDescribe = etcdAvailable() ? describe : describe.skip;

etcdDescribe("etcd", () => {
  let etcd: EtcdServer;
  beforeAll(async () => {
    etcd = await startEtcd();
  }, 30_000);
  afterAll(() => etcd?.stop());

  certificateStoreContract(
    "etcd",
    () => createEtcdCertificateStore({ endpoints: [etcd.url] }),
    () => etcdGateway(etcd.url).deletePrefix(ACME),
  );
});
