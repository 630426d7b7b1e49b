import { X509Certificate } from "node:crypto";
import { isScalar } from "yaml";
import { type ActionDefinition, type ActionExecution, type ActionStep, NEXT } from "../action-types.js";
import { type ConfigReader, readString } from "../config-reader.js";
import { chainVerifies } from "../conn-tls.js";

/** ngrok's versions; Node (OpenSSL) refuses anything older than 1.2 by default anyway. */
const VERSIONS = ["1.2", "1.3"] as const;
const STRATEGIES = ["require-and-verify", "require-any", "request"] as const;
const CLOSE: ActionStep = { kind: "close" };

/**
 * `terminate-tls` (on_tcp_connect): Onramp's HTTPS listener terminates TLS for every endpoint
 * before any policy runs, with the edge's certificates, so this action checks the handshake that
 * took place instead of shaping it:
 * - `min_version` / `max_version` ("1.2", "1.3"): a connection that negotiated another version is
 *   closed (ngrok fails the handshake instead).
 * - `mutual_tls_certificate_authorities` (PEM): the listener asks every client for a certificate
 *   once a loaded policy has this, and the action closes a connection whose certificate does not
 *   chain to one of them (`require-and-verify`, the default), that sent none (`require-any`), or
 *   never (`request`: the certificate is only published in `conn.tls.client_cert`).
 * A plaintext connection is closed: it has no TLS to check. `server_certificate` and
 * `server_private_key` are refused at load: certificates are the edge's (--tls-cert, ACME).
 * A refusal is logged with the rule and why (`traffic policy log`, error_code ACCESS_DENIED).
 */
export const terminateTls: ActionDefinition = {
  type: "terminate-tls",
  phases: ["on_tcp_connect"],
  compile(config, site) {
    const min = readVersion(config, "min_version") ?? "1.2";
    const max = readVersion(config, "max_version") ?? "1.3";
    const strategy = (config.string("mutual_tls_verification_strategy", { oneOf: STRATEGIES }) ?? "require-and-verify") as (typeof STRATEGIES)[number];
    const authorities: X509Certificate[] = [];
    for (const item of config.list("mutual_tls_certificate_authorities") ?? []) {
      const pem = readString(item.cursor, item.value);
      if (pem === undefined) continue;
      const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
      if (blocks.length === 0) {
        item.cursor.error("must be a PEM certificate (-----BEGIN CERTIFICATE-----); Onramp has no certificate authority IDs");
        continue;
      }
      for (const block of blocks) {
        try {
          authorities.push(new X509Certificate(block));
        } catch (err) {
          item.cursor.error(`is not a valid PEM certificate: ${(err as Error).message}`);
        }
      }
    }
    for (const key of ["server_certificate", "server_private_key"]) {
      if (config.has(key)) config.node(key)?.cursor.error("is not supported: Onramp serves the edge's certificates (--tls-cert, ACME) to every endpoint");
    }
    config.finish();
    if (Number(min) > Number(max)) {
      config.cursor.error(`min_version ${min} is above max_version ${max}`);
      return undefined;
    }
    const mutual = config.has("mutual_tls_certificate_authorities") || config.has("mutual_tls_verification_strategy");
    if (mutual && strategy === "require-and-verify" && authorities.length === 0) {
      config.cursor.error("mutual_tls_verification_strategy require-and-verify needs mutual_tls_certificate_authorities");
      return undefined;
    }
    const refuse = (x: ActionExecution, reason: string): ActionStep => {
      x.logs.push({ kind: "log", phase: x.phase, ruleIndex: site.ruleIndex, ruleName: site.ruleName, metadata: { action: "terminate-tls", error_code: "ERR_ONRAMP_ACCESS_DENIED", reason } });
      return CLOSE;
    };
    return {
      type: "terminate-tls",
      alwaysTerminates: false,
      requestsClientCertificate: mutual,
      run(x) {
        const tls = x.ctx.conn.tls?.();
        if (!tls) return refuse(x, "the connection is not TLS");
        if (tls.version < min || tls.version > max) return refuse(x, `TLS ${tls.version} is outside ${min}-${max}`);
        if (!mutual || strategy === "request") return NEXT;
        if (tls.clientCertificates.length === 0) return refuse(x, "the client sent no certificate");
        if (strategy === "require-and-verify" && !chainVerifies(tls, authorities, Date.now())) {
          return refuse(x, "the client certificate does not chain to mutual_tls_certificate_authorities");
        }
        return NEXT;
      },
    };
  },
};

/** `1.2` or `1.3`, written as a string or, unquoted, as the YAML number it then is. */
function readVersion(config: ConfigReader, key: string): string | undefined {
  const n = config.node(key);
  if (!n) return undefined;
  const value = isScalar(n.value) && typeof n.value.value === "number" ? n.value.value.toFixed(1) : readString(n.cursor, n.value);
  if (value === undefined) return undefined;
  if ((VERSIONS as readonly string[]).includes(value)) return value;
  n.cursor.error(`must be one of "1.2", "1.3", got ${JSON.stringify(value)}`);
  return undefined;
}
