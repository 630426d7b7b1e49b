import type { CertificateStore as SharedCertificateStore, StoredCertificate } from "@onramp/registry";
import acme from "acme-client";
import { X509Certificate } from "node:crypto";
import { Agent } from "node:https";
import { rootCertificates } from "node:tls";
import type { ResolvedAcmeOptions } from "./acme-options.js";

/** 10 min: a challenge lives as long as the CA may take to validate it; the order removes it sooner. */
const CHALLENGE_TTL_MS = 10 * 60_000;

/** Where the answer to a challenge is kept in the shared store, for any edge the CA reaches. */
export const httpChallengeKey = (token: string): string => `http-01/${token}`;
export const alpnChallengeKey = (hostname: string): string => `tls-alpn-01/${hostname}`;

/**
 * acme-client makes its requests with one axios instance for the whole process: a private CA is
 * trusted there, beside the system's, so every edge of the process still reaches public CAs.
 */
function trust(ca: string | undefined): void {
  if (ca === undefined) return;
  acme.axios.defaults.httpsAgent = new Agent({ ca: [...rootCertificates, ca], keepAlive: false });
}

/** The mesh's account with the directory: read from the store, else registered and stored (first edge wins). */
async function clientFor(options: ResolvedAcmeOptions, store: SharedCertificateStore): Promise<acme.Client> {
  trust(options.ca);
  // Polls for a challenge's or order's status: from 1 s, as pebble and Let's Encrypt answer within seconds.
  const polling = { backoffMin: 1_000, backoffMax: 10_000 };
  let account = await store.getAccount(options.directoryUrl);
  if (!account) {
    const key = (await acme.crypto.createPrivateEcdsaKey()).toString();
    const client = new acme.Client({ directoryUrl: options.directoryUrl, accountKey: key, ...polling });
    await client.createAccount({ termsOfServiceAgreed: true, ...(options.email ? { contact: [`mailto:${options.email}`] } : {}) });
    account = await store.createAccount({ directory: options.directoryUrl, key, url: client.getAccountUrl(), created_at: new Date().toISOString() });
  }
  return new acme.Client({ directoryUrl: options.directoryUrl, accountKey: account.key, accountUrl: account.url, ...polling });
}

/**
 * Orders a certificate for `hostname` (one name, a new ECDSA P-256 key) and answers its
 * challenge through the shared store. The CA's own validation proves the answer reachable, so
 * acme-client's self-check (a DNS lookup and a request from here) is skipped.
 */
export async function orderCertificate(hostname: string, options: ResolvedAcmeOptions, store: SharedCertificateStore, edgeId: string): Promise<StoredCertificate> {
  const client = await clientFor(options, store);
  const privateKey = await acme.crypto.createPrivateEcdsaKey();
  // A CN holds at most 64 characters (RFC 5280); the subjectAltName is what clients check anyway.
  const [, csr] = await acme.crypto.createCsr({ altNames: [hostname], ...(hostname.length <= 64 ? { commonName: hostname } : {}) }, privateKey);
  const cert = await client.auto({
    csr,
    termsOfServiceAgreed: true,
    ...(options.email ? { email: options.email } : {}),
    challengePriority: [options.challenge],
    skipChallengeVerification: true,
    challengeCreateFn: async (authz, challenge, keyAuthorization) => {
      // acme-client's types list http-01 and dns-01 only; RFC 8737 adds tls-alpn-01.
      const type: string = challenge.type;
      if (type === "http-01") return store.putChallenge(httpChallengeKey(challenge.token), keyAuthorization, CHALLENGE_TTL_MS);
      if (type === "tls-alpn-01") {
        const [key, alpnCert] = await acme.crypto.createAlpnCertificate(authz, keyAuthorization);
        return store.putChallenge(alpnChallengeKey(hostname), JSON.stringify({ cert: alpnCert.toString(), key: key.toString() }), CHALLENGE_TTL_MS);
      }
      throw new Error(`the CA did not offer the ${options.challenge} challenge for ${hostname} (offered: ${type})`);
    },
    challengeRemoveFn: async (_authz, challenge) => {
      await store.deleteChallenge(challenge.type === "http-01" ? httpChallengeKey(challenge.token) : alpnChallengeKey(hostname));
    },
  });
  const leaf = new X509Certificate(cert);
  return {
    hostname,
    cert,
    key: privateKey.toString(),
    not_before: new Date(leaf.validFrom).toISOString(),
    not_after: new Date(leaf.validTo).toISOString(),
    directory: options.directoryUrl,
    ordered_by: edgeId,
  };
}
