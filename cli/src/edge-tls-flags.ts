import type { EdgeOptions } from "@onramp/edge";
import { ErrorCode, OnrampError } from "@onramp/errors";
import { dirname, resolve } from "node:path";
import { parseDuration } from "./units.js";

type TlsCertificateFiles = NonNullable<EdgeOptions["tlsCertificates"]>[number];

/** The TLS settings of `onramp edge`, flags (or ONRAMP_*) already merged over the config file by the caller. */
export interface EdgeTlsInput {
  /** `--tls-cert` values in order, when given on the command line or by ONRAMP_TLS_CERT. */
  certFlags: string[] | undefined;
  /** `--tls-key` values, paired with `certFlags` by position. */
  keyFlags: string[] | undefined;
  /** `tls_certificates:` of the config file, if any. */
  configCertificates: unknown;
  /** The config file, for relative paths and error messages. */
  configPath: string | undefined;
  /** `--hsts` or `hsts:`, and which of them it came from (named in errors). */
  hsts: { value: string | number; from: string } | undefined;
}

/** Commander collector for a repeatable flag: `--tls-cert a --tls-cert b` → ["a", "b"]. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/**
 * The certificates and HSTS max-age for EdgeOptions. `--tls-cert`/`--tls-key` pairs replace the
 * config file's `tls_certificates` entirely (mixing the two lists would make the default, the
 * first, hard to tell); paths in the config file are relative to it.
 */
export function edgeTlsOptionsFrom(input: EdgeTlsInput): Pick<EdgeOptions, "tlsCertificates" | "hstsMaxAgeSeconds"> {
  const hstsMs = input.hsts === undefined ? undefined : parseDuration(input.hsts.from, input.hsts.value);
  return { tlsCertificates: certificatesOf(input), hstsMaxAgeSeconds: hstsMs === undefined ? undefined : Math.floor(hstsMs / 1000) };
}

function certificatesOf(input: EdgeTlsInput): TlsCertificateFiles[] | undefined {
  const certs = input.certFlags ?? [];
  const keys = input.keyFlags ?? [];
  if (certs.length > 0 || keys.length > 0) {
    if (certs.length !== keys.length) {
      throw new OnrampError(ErrorCode.InvalidArgument, `--tls-cert and --tls-key come in pairs: got ${certs.length} --tls-cert and ${keys.length} --tls-key`);
    }
    return certs.map((cert, i) => ({ cert, key: keys[i]! }));
  }
  const value = input.configCertificates;
  if (value === undefined || value === null) return undefined;
  const where = `${input.configPath ?? "config"}: tls_certificates`;
  if (!Array.isArray(value)) throw new OnrampError(ErrorCode.InvalidArgument, `${where} must be a list of {cert, key}`);
  const base = input.configPath ? dirname(input.configPath) : ".";
  return value.map((entry: unknown, i) => {
    const e = (typeof entry === "object" && entry !== null && !Array.isArray(entry) ? entry : {}) as Record<string, unknown>;
    const unknown = Object.keys(e).find((k) => k !== "cert" && k !== "key");
    if (unknown !== undefined) throw new OnrampError(ErrorCode.InvalidArgument, `${where}[${i}]: unknown key ${JSON.stringify(unknown)} (known: cert, key)`);
    if (typeof e.cert !== "string" || typeof e.key !== "string") {
      throw new OnrampError(ErrorCode.InvalidArgument, `${where}[${i}]: needs cert and key, both file paths`);
    }
    return { cert: resolve(base, e.cert), key: resolve(base, e.key) };
  });
}

/** The ACME settings of `onramp edge` (flags or the config file's acme_* keys), before the CA file is read. */
export interface EdgeAcmeInput {
  email: string | undefined;
  directory: string | undefined;
  /** A PEM file of CA certificates to trust for the directory (a private or test CA). */
  caFile: string | undefined;
  challenge: string | undefined;
}

/**
 * `EdgeOptions.acme`: on when `--acme-email` or `--acme-directory` is given (Let's Encrypt's
 * production directory by default); the edge checks the values and names the field.
 */
export function edgeAcmeOptionsFrom(input: EdgeAcmeInput, readFile: (path: string, label: string) => string): EdgeOptions["acme"] {
  if (input.email === undefined && input.directory === undefined) {
    if (input.caFile !== undefined || input.challenge !== undefined) {
      throw new OnrampError(ErrorCode.InvalidArgument, "--acme-ca and --acme-challenge need ACME turned on: pass --acme-email (or --acme-directory)");
    }
    return undefined;
  }
  return {
    ...(input.email !== undefined ? { email: input.email } : {}),
    ...(input.directory !== undefined ? { directoryUrl: input.directory } : {}),
    ...(input.caFile !== undefined ? { ca: readFile(input.caFile, "--acme-ca") } : {}),
    ...(input.challenge !== undefined ? { challenge: input.challenge as "http-01" | "tls-alpn-01" } : {}),
  };
}
