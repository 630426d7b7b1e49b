import { type JWTPayload, type ProtectedHeaderParameters, decodeProtectedHeader, errors, jwtVerify } from "jose";
import { type ActionDefinition, NEXT } from "../action-types.js";
import { ConfigReader } from "../config-reader.js";
import { firstHeader } from "../context.js";
import { VerifiedTokenCache } from "../verified-token-cache.js";
import { JwksCache, JwksUnavailableError } from "../jwks-cache.js";
import { engineResponse } from "../outcome.js";

const ALGORITHMS = ["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"];
const TOKEN_TYPES = ["id_token", "access_token", "at+jwt", "it+jwt", "plain", "jwt"];

interface TokenSource {
  readonly name: string;
  readonly prefix: string;
}

type Failure = { code: string; message: string; status: 401 | 503 };

function describeFailure(err: unknown): Failure {
  if (err instanceof JwksUnavailableError) return { code: "jwks_unavailable", message: "signing keys are unavailable", status: 503 };
  if (err instanceof errors.JWTExpired) return { code: "token_expired", message: "the token has expired", status: 401 };
  if (err instanceof errors.JWTClaimValidationFailed) {
    return { code: "invalid_claim", message: `the token's ${err.claim} claim is not accepted`, status: 401 };
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return { code: "alg_not_allowed", message: "the token's algorithm is not allowed", status: 401 };
  if (err instanceof errors.JWKSNoMatchingKey) return { code: "unknown_key", message: "no signing key matches the token", status: 401 };
  if (err instanceof errors.JWSSignatureVerificationFailed) return { code: "invalid_signature", message: "the token's signature is invalid", status: 401 };
  return { code: "invalid_token", message: "the token is malformed", status: 401 };
}

/**
 * `jwt-validation`: every token found at the configured `http.tokens` locations must be signed by a
 * key from `jws.keys.sources.additional_jkus` with an allowed algorithm, be unexpired, and carry an
 * allowed `iss` (and `aud` when an audience list is set); at least one token must be present.
 * Failures answer 401 with a `WWW-Authenticate: Bearer` challenge (RFC 6750).
 */
export const jwtValidation: ActionDefinition = {
  type: "jwt-validation",
  phases: ["on_http_request"],
  compile(config) {
    const issuers = readAllowList(config.object("issuer", { required: true }), true);
    const audienceReader = config.object("audience");
    const audiences = audienceReader ? readAllowList(audienceReader, true) : [];
    const sources: TokenSource[] = [];
    const http = config.object("http", { required: true });
    for (const item of http?.list("tokens", { required: true, min: 1 }) ?? []) {
      const reader = ConfigReader.of(config.cx, item.cursor, item.value);
      if (!reader) continue;
      reader.string("type", { required: true, oneOf: TOKEN_TYPES });
      const method = reader.string("method", { required: true, oneOf: ["header", "body"] });
      const name = reader.string("name", { required: true });
      const prefix = reader.string("prefix") ?? "";
      reader.finish();
      if (method === "body") reader.cursor.key("method", undefined).error('"body" is not supported: Onramp reads tokens from headers only');
      if (name !== undefined && method === "header") sources.push({ name: name.toLowerCase(), prefix });
    }
    http?.finish();
    const jws = config.object("jws", { required: true });
    const algorithms: string[] = [];
    for (const alg of jws?.stringList("allowed_algorithms", { required: true, min: 1 }) ?? []) {
      if (alg.value.toLowerCase() === "none") alg.cursor.error('"none" is not allowed: unsigned tokens prove nothing');
      else if (!ALGORITHMS.includes(alg.value)) alg.cursor.error(`unsupported algorithm ${JSON.stringify(alg.value)} (supported: ${ALGORITHMS.join(", ")})`);
      else algorithms.push(alg.value);
    }
    const keysReader = jws?.object("keys", { required: true });
    const sourcesReader = keysReader?.object("sources", { required: true });
    const jkus: string[] = [];
    for (const u of sourcesReader?.stringList("additional_jkus", { required: true, min: 1 }) ?? []) {
      if (/^https?:\/\/[^\s/]+/.test(u.value)) jkus.push(u.value);
      else u.cursor.error(`must be an http(s) URL, got ${JSON.stringify(u.value)}`);
    }
    sourcesReader?.finish();
    keysReader?.finish();
    jws?.finish();
    config.finish();
    if (!issuers || !audiences || sources.length === 0 || algorithms.length === 0 || jkus.length === 0) return undefined;

    const cache = new JwksCache(jkus);
    const verified = new VerifiedTokenCache();
    const verifyOptions = { issuer: issuers, algorithms, ...(audiences.length > 0 ? { audience: audiences } : {}) };
    return {
      type: "jwt-validation",
      alwaysTerminates: false,
      async run(x) {
        const headers = x.view?.request.headers ?? new Map<string, string[]>();
        const found: Array<{ token: string; source: TokenSource }> = [];
        for (const source of sources) {
          const raw = firstHeader(headers, source.name);
          if (raw === undefined) continue;
          const matches = raw.slice(0, source.prefix.length).toLowerCase() === source.prefix.toLowerCase();
          if (matches) found.push({ token: raw.slice(source.prefix.length).trim(), source });
        }
        const tokens: Array<Record<string, unknown>> = [];
        let failure: Failure | undefined;
        if (found.length === 0) failure = { code: "missing_token", message: "a bearer token is required", status: 401 };
        for (const { token, source } of found) {
          const record: Record<string, unknown> = { location: "header", location_property: source.name, verified: false };
          tokens.push(record);
          try {
            const now = x.rt.now();
            const known = verified.get(token, cache.generation, now);
            const header: ProtectedHeaderParameters = known?.header ?? decodeProtectedHeader(token);
            record["header"] = header;
            record["signature"] = token.slice(token.lastIndexOf(".") + 1);
            if (known) {
              record["payload"] = known.payload;
              record["verified"] = true;
              continue;
            }
            const generation = cache.generation;
            const result = await jwtVerify(token, cache.resolver(x.rt, x.signal), { ...verifyOptions, currentDate: new Date(now) });
            record["payload"] = result.payload as JWTPayload;
            record["verified"] = true;
            verified.set(token, result.payload, header, generation, now);
          } catch (err) {
            if (x.signal?.aborted) throw err;
            failure ??= describeFailure(err);
          }
        }
        x.setResult("jwt_validation", { tokens, ...(failure ? { error: { code: failure.code, message: failure.message } } : {}) });
        if (!failure) return NEXT;
        if (failure.status === 503) {
          return { kind: "respond", response: engineResponse(503, "JWKS_UNAVAILABLE", "Unable to verify credentials right now.", [["retry-after", "30"]]) };
        }
        const challenge =
          failure.code === "missing_token"
            ? 'Bearer realm="onramp"'
            : `Bearer realm="onramp", error="invalid_token", error_description="${failure.message}"`;
        return {
          kind: "respond",
          response: engineResponse(401, "UNAUTHORIZED", `Unauthorized: ${failure.message}.`, [["www-authenticate", challenge]]),
        };
      },
    };
  },
};

/** `{allow_list: [{value: "…"}, …]}` → the values. */
function readAllowList(reader: ConfigReader | undefined, required: boolean): string[] | undefined {
  if (!reader) return undefined;
  const out: string[] = [];
  for (const item of reader.list("allow_list", { required, min: 1 }) ?? []) {
    const entry = ConfigReader.of(reader.cx, item.cursor, item.value);
    const value = entry?.string("value", { required: true });
    entry?.finish();
    if (value !== undefined) out.push(value);
  }
  reader.finish();
  return out.length > 0 ? out : undefined;
}
