import { X509Certificate } from "node:crypto";
import { celTimestamp } from "./cel-time.js";
import { STRING, STRING_FORM_KEY, TIMESTAMP, listOf, record } from "./cel-types.js";
import { LazyRecord } from "./lazy-record.js";

/**
 * What the edge reports of a client connection's TLS (`conn.tls.*`, terminate-tls). Undefined for
 * a plaintext connection. The edge builds it from its TLS socket; parsing certificates is done
 * here, once per connection (see `parsedLeaf`).
 */
export interface ConnTls {
  /** `1.2`, `1.3` (older versions as `1.0`, `1.1`). */
  readonly version: string;
  /** The IANA name of the negotiated cipher suite: `TLS_AES_128_GCM_SHA256`. */
  readonly cipherSuite: string;
  /** The server name the client sent (SNI); "" when it sent none (it dialled an IP address). */
  readonly sni: string;
  /**
   * The client's certificates as DER, leaf first, intermediates after as it sent them; empty when
   * it sent none, which is every client unless the listener asked (docs/traffic-policy.md, terminate-tls).
   */
  readonly clientCertificates: readonly Uint8Array[];
}

const NAME = record(
  "conn.tls.client_cert.name",
  {
    common_name: STRING,
    organization: STRING,
    organizational_unit: STRING,
    country: STRING,
    province: STRING,
    locality: STRING,
    street_address: STRING,
    postal_code: STRING,
  },
  { stringForm: true },
);

/** The types of `conn.tls`, declared in cel-variables.ts. */
export const CONN_TLS_TYPE = record("conn.tls", {
  version: STRING,
  cipher_suite: STRING,
  sni: STRING,
  client_cert: record("conn.tls.client_cert", {
    subject: NAME,
    issuer: NAME,
    serial_number: STRING,
    sha256_fingerprint: STRING,
    validity: record("conn.tls.client_cert.validity", { not_before: TIMESTAMP, not_after: TIMESTAMP }),
    extensions: record("conn.tls.client_cert.extensions", {
      subject_alternative_name: record("conn.tls.client_cert.extensions.subject_alternative_name", {
        dns_names: listOf(STRING),
        email_addresses: listOf(STRING),
        ip_addresses: listOf(STRING),
        uris: listOf(STRING),
      }),
    }),
  }),
});

/** Distinguished-name attributes as node:crypto writes them, and the field of each. */
const NAME_FIELDS: Readonly<Record<string, string>> = {
  CN: "common_name",
  O: "organization",
  OU: "organizational_unit",
  C: "country",
  ST: "province",
  L: "locality",
  street: "street_address",
  postalCode: "postal_code",
};

interface ParsedCert {
  readonly x509: X509Certificate;
  readonly subject: LazyRecord;
  readonly issuer: LazyRecord;
  readonly sans: Readonly<Record<"dns_names" | "email_addresses" | "ip_addresses" | "uris", string[]>>;
}

const parsed = new WeakMap<ConnTls, ParsedCert | null>();

/** The client's leaf certificate, parsed on first use per connection; undefined when it sent none (or sent garbage). */
export function parsedLeaf(tls: ConnTls): ParsedCert | undefined {
  let p = parsed.get(tls);
  if (p === undefined) {
    p = null;
    const der = tls.clientCertificates[0];
    if (der) {
      try {
        const x509 = new X509Certificate(der);
        p = { x509, subject: nameRecord(x509.subject), issuer: nameRecord(x509.issuer), sans: sansOf(x509.subjectAltName) };
      } catch {
        p = null;
      }
    }
    parsed.set(tls, p);
  }
  return p ?? undefined;
}

/** `conn.tls`: empty strings, lists and the epoch when the connection is plaintext or sent no certificate. */
export function connTlsBindings(tls: ConnTls | undefined): LazyRecord {
  const leaf = () => (tls ? parsedLeaf(tls) : undefined);
  const emptyName = nameRecord("");
  return new LazyRecord({
    version: () => tls?.version ?? "",
    cipher_suite: () => tls?.cipherSuite ?? "",
    sni: () => tls?.sni ?? "",
    client_cert: () =>
      new LazyRecord({
        subject: () => leaf()?.subject ?? emptyName,
        issuer: () => leaf()?.issuer ?? emptyName,
        serial_number: () => leaf()?.x509.serialNumber.toLowerCase() ?? "",
        sha256_fingerprint: () => leaf()?.x509.fingerprint256.replace(/:/g, "").toLowerCase() ?? "",
        validity: () =>
          new LazyRecord({
            not_before: () => celTimestamp(leaf() ? Date.parse(leaf()!.x509.validFrom) : 0),
            not_after: () => celTimestamp(leaf() ? Date.parse(leaf()!.x509.validTo) : 0),
          }),
        extensions: () =>
          new LazyRecord({
            subject_alternative_name: () => {
              const sans = leaf()?.sans;
              return new LazyRecord({
                dns_names: () => sans?.dns_names ?? [],
                email_addresses: () => sans?.email_addresses ?? [],
                ip_addresses: () => sans?.ip_addresses ?? [],
                uris: () => sans?.uris ?? [],
              });
            },
          }),
      }),
  });
}

/**
 * A name as ngrok (Go's pkix.Name.String) writes it, most specific first: `CN=client,O=Example`;
 * each attribute is also a field (the first value when there are several).
 */
function nameRecord(text: string): LazyRecord {
  const pairs = text
    .split("\n")
    .filter(Boolean)
    .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)] as const);
  const getters: Record<string, () => unknown> = { [STRING_FORM_KEY]: () => [...pairs].reverse().map(([k, v]) => `${k}=${v}`).join(",") };
  for (const [attribute, field] of Object.entries(NAME_FIELDS)) getters[field] = () => pairs.find(([k]) => k === attribute)?.[1] ?? "";
  return new LazyRecord(getters);
}

function sansOf(text: string | undefined): ParsedCert["sans"] {
  const sans = { dns_names: [] as string[], email_addresses: [] as string[], ip_addresses: [] as string[], uris: [] as string[] };
  for (const entry of (text ?? "").split(/,\s*/)) {
    const colon = entry.indexOf(":");
    const [kind, value] = [entry.slice(0, colon), entry.slice(colon + 1)];
    if (kind === "DNS") sans.dns_names.push(value);
    else if (kind === "email") sans.email_addresses.push(value);
    else if (kind === "IP Address") sans.ip_addresses.push(value);
    else if (kind === "URI") sans.uris.push(value);
  }
  return sans;
}

/**
 * Whether the client's chain leads to one of `authorities`: the leaf signed by one of them, or
 * by an intermediate the client sent that leads there. Dates are checked; revocation is not.
 */
export function chainVerifies(tls: ConnTls, authorities: readonly X509Certificate[], now: number): boolean {
  const chain: X509Certificate[] = [];
  try {
    for (const der of tls.clientCertificates.slice(0, 4)) chain.push(new X509Certificate(der));
  } catch {
    return false;
  }
  for (let i = 0; i < chain.length; i++) {
    const cert = chain[i]!;
    if (now < Date.parse(cert.validFrom) || now > Date.parse(cert.validTo)) return false;
    if (authorities.some((ca) => signedBy(cert, ca))) return true;
    const next = chain[i + 1];
    if (!next || !next.ca || !signedBy(cert, next)) return false;
  }
  return false;
}

function signedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return cert.checkIssued(issuer) && cert.verify(issuer.publicKey);
  } catch {
    return false;
  }
}
