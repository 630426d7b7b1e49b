import { X509Certificate } from "node:crypto";
import type { Socket } from "node:net";
import type { Logger } from "@onramp/telemetry";
import { TLSSocket, type DetailedPeerCertificate } from "node:tls";
import { CertificateStore, type TlsCertificateFiles } from "./tls-certificates.js";

/**
 * 4: leaf, at most three intermediates. A cluster CA is the operator's own, usually one level
 * deep; a longer chain from a peer is refused rather than walked without bound.
 */
const MAX_CHAIN = 4;

/**
 * Checks that the client certificate a relaying peer presented on the agent port chains to the
 * cluster CA (`--cluster-ca`). The agent port cannot make the TLS handshake itself demand one:
 * agents have no client certificates. So the port asks for one without requiring it, and this
 * check runs once a connection has said it is a relay. Returns why the peer is refused, or
 * undefined when its certificate verifies.
 */
export type ClusterPeerCheck = (socket: Socket, now?: Date) => string | undefined;

/** A check against the PEM certificates of `caPem` (one or more). */
export function createClusterPeerCheck(caPem: string): ClusterPeerCheck {
  const authorities = pemBlocks(caPem).map((pem) => new X509Certificate(pem));
  return (socket, now = new Date()) => {
    if (!(socket instanceof TLSSocket)) return "it came over plaintext, and this edge needs a client certificate from the cluster CA";
    const peer = socket.getPeerCertificate(true) as DetailedPeerCertificate | null;
    if (!peer || !peer.raw) return "it presented no client certificate (give that edge --cluster-cert and --cluster-key, or a --tls-cert signed by this edge's --cluster-ca)";
    const chain = chainOf(peer);
    for (let i = 0; i < chain.length; i++) {
      const cert = chain[i]!;
      const problem = expired(cert, now);
      if (problem) return `its client certificate ${problem}`;
      if (authorities.some((ca) => issued(ca, cert))) return undefined;
      const next = chain[i + 1];
      // An intermediate the peer sent must be a CA that signed this one; the root must be ours.
      if (!next || !next.ca || !issued(next, cert)) break;
    }
    return `its client certificate (subject ${oneLine(chain[0]!.subject)}, issuer ${oneLine(chain[0]!.issuer)}) is not signed by the cluster CA (--cluster-ca)`;
  };
}

/** How edges of a mesh authenticate each other with certificates, beside the cluster secret. */
export interface ClusterTls {
  /** For relays arriving here; undefined without a cluster CA (the cluster secret alone). */
  readonly peerCheck: ClusterPeerCheck | undefined;
  /** The client certificate to present when relaying, as it is now (after any reload). */
  clientCertificate(): { cert: string; key: string } | undefined;
  watch(): void;
  close(): void;
}

/**
 * From the edge's options: `files` (`--cluster-cert`/`--cluster-key`) is loaded now (a bad pair
 * fails the start) and reloaded like the HTTPS certificates; without it, the agent port's default
 * certificate is the client certificate, since peers with the cluster CA verify it already.
 */
export function createClusterTls(ca: string | undefined, files: TlsCertificateFiles | undefined, agentCertificates: CertificateStore | undefined, logger: Logger): ClusterTls {
  const own = files ? new CertificateStore([files], logger, () => "clusterCertificate (--cluster-cert)") : undefined;
  const store = own ?? agentCertificates;
  return {
    peerCheck: ca === undefined ? undefined : createClusterPeerCheck(ca),
    clientCertificate: () => store?.certificates[0]?.pem,
    watch: () => own?.watch(),
    close: () => own?.close(),
  };
}

/** The leaf and the certificates the peer sent after it, without repeats (a self-signed root points at itself). */
function chainOf(peer: DetailedPeerCertificate): X509Certificate[] {
  const chain: X509Certificate[] = [];
  const seen = new Set<string>();
  let cert: DetailedPeerCertificate | undefined = peer;
  while (cert?.raw && chain.length < MAX_CHAIN && !seen.has(cert.fingerprint256)) {
    seen.add(cert.fingerprint256);
    chain.push(new X509Certificate(cert.raw));
    cert = cert.issuerCertificate;
  }
  return chain;
}

function issued(issuer: X509Certificate, cert: X509Certificate): boolean {
  try {
    return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

function expired(cert: X509Certificate, now: Date): string | undefined {
  if (now.getTime() < new Date(cert.validFrom).getTime()) return `is not valid before ${new Date(cert.validFrom).toISOString()}`;
  if (now.getTime() > new Date(cert.validTo).getTime()) return `expired on ${new Date(cert.validTo).toISOString()}`;
  return undefined;
}

function oneLine(name: string): string {
  return name.split("\n").join(", ");
}

/** The `-----BEGIN CERTIFICATE-----` blocks of a PEM bundle. */
export function pemBlocks(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}
