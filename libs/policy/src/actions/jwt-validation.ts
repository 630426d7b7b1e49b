import { type JWTPayload, type ProtectedHeaderParameters, decodeProtectedHeader, errors, jwtVerify } from "jose";
import { type Node, isSeq } from "yaml";
import { type ActionDefinition, type ActionExecution, type ActionStep, NEXT } from "../action-types.js";
import { BoundedCache } from "../bounded-cache.js";
import { ConfigReader, readTemplate } from "../config-reader.js";
import { EvaluationError, type Template } from "../interpolation.js";
import { firstHeader } from "../context.js";
import { VerifiedTokenCache } from "../verified-token-cache.js";
import { JwksCache, JwksUnavailableError } from "../jwks-cache.js";
import { engineResponse } from "../outcome.js";
import { tokenFromBody } from "./jwt-body-token.js";

const ALGORITHMS = ["HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"];
const TOKEN_TYPES = ["id_token", "access_token", "at+jwt", "it+jwt", "plain", "jwt"];

interface TokenSource {
  readonly method: "header" | "body";
  readonly name: Template;
  /** A constant header name, lowercased once. */
  readonly lowerName: string | undefined;
  readonly prefix: Template | undefined;
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
 * Failures answer 401 with a `WWW-Authenticate: Bearer` challenge (RFC 6750). The issuer values,
 * token `name`/`prefix` and JKUs may use `${…}` (as in ngrok) and are evaluated per request.
 */
export const jwtValidation: ActionDefinition = {
  type: "jwt-validation",
  phases: ["on_http_request"],
  compile(config) {
    const issuers = readAllowList(config.object("issuer", { required: true }), (entry) => entry.template("value", { required: true }));
    const audienceReader = config.object("audience");
    const audiences = audienceReader ? readAllowList(audienceReader, (entry) => entry.string("value", { required: true })) : [];
    const sources: TokenSource[] = [];
    const http = config.object("http", { required: true });
    for (const item of http?.list("tokens", { required: true, min: 1 }) ?? []) {
      const reader = ConfigReader.of(config.cx, item.cursor, item.value);
      if (!reader) continue;
      reader.string("type", { required: true, oneOf: TOKEN_TYPES });
      const method = reader.string("method", { required: true, oneOf: ["header", "body"] });
      const name = reader.template("name", { required: true });
      const prefix = reader.template("prefix");
      reader.finish();
      if (name !== undefined && (method === "header" || method === "body")) sources.push({ method, name, lowerName: name.constant?.toLowerCase(), prefix });
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
    if (keysReader) readIdentification(keysReader);
    const sourcesReader = keysReader?.object("sources", { required: true });
    const jkus: Template[] = [];
    for (const u of sourcesReader?.list("additional_jkus", { required: true, min: 1 }) ?? []) {
      const t = readTemplate(config.cx, u.cursor, u.value);
      if (t && t.constant !== undefined && !JKU.test(t.constant)) u.cursor.error(`must be an http(s) URL, got ${JSON.stringify(t.constant)}`);
      else if (t) jkus.push(t);
    }
    sourcesReader?.finish();
    keysReader?.finish();
    jws?.finish();
    config.finish();
    if (!issuers || !audiences || sources.length === 0 || algorithms.length === 0 || jkus.length === 0) return undefined;

    const verifiers = verifiersFor(jkus);
    const issuerTemplates: readonly Template[] = issuers;
    const fixedIssuers = constants(issuers);
    const baseOptions = { algorithms, ...(audiences.length > 0 ? { audience: audiences } : {}) };
    /**
     * `actions.ngrok.jwt_validation` of the last request whose one token was verified before:
     * clients send the same token in runs, and the next such request shares it (CEL only reads it).
     */
    let lastResult: { known: object; name: string; method: "header" | "body"; result: Record<string, unknown> } | undefined;
    const readsBody = sources.some((s) => s.method === "body");
    return {
      type: "jwt-validation",
      alwaysTerminates: false,
      readsRequestBody: readsBody,
      run(x) {
        if (!readsBody) return finishChecks(x, headerTokens(x, sources));
        return allTokens(x, sources).then((found) => finishChecks(x, found));
      },
    };

    /**
     * Checks the tokens found; synchronous (no promise per request) while every token is one the
     * action has verified before, which is the steady state of a client sending the same token.
     */
    function finishChecks(x: ActionExecution, found: readonly FoundToken[]): ActionStep | Promise<ActionStep> {
      const issuerList = fixedIssuers ?? issuerTemplates.map((t) => t.render(x.scope));
      // With interpolated issuers a verification holds only for the issuers it was checked against.
      const cacheKey = fixedIssuers ? "" : `${issuerList.join("\n")}\n\n`;
      const check: TokenCheck = { x, found, issuerList, cacheKey, verifier: verifiers(x), tokens: [], failure: undefined, known: undefined };
      if (found.length === 0) check.failure = { code: "missing_token", message: "a bearer token is required", status: 401 };
      return checkFrom(check, 0);
    }

    /** Checks `found[i…]` in order, from the cache of verified tokens, until one needs its signature checked. */
    function checkFrom(c: TokenCheck, from: number): ActionStep | Promise<ActionStep> {
      const { cache, verified } = c.verifier;
      for (let i = from; i < c.found.length; i++) {
        const { token, name, method } = c.found[i] as FoundToken;
        const now = c.x.rt.now();
        const known = verified.get(token, c.cacheKey, cache.generation, now);
        if (known) {
          if (c.found.length === 1) {
            // The same verified token, from the same place, as the last request: the same result.
            const same = lastResult;
            if (same !== undefined && same.known === known && same.name === name && same.method === method) {
              c.x.setResult("jwt_validation", same.result);
              return NEXT;
            }
            c.known = known;
          }
          // The same fields, in the same order, as a token verified now.
          c.tokens.push({ location: method, location_property: name, verified: true, header: known.header, signature: known.signature, payload: known.payload });
          continue;
        }
        const record: Record<string, unknown> = { location: method, location_property: name, verified: false };
        c.tokens.push(record);
        try {
          const header: ProtectedHeaderParameters = decodeProtectedHeader(token);
          record["header"] = header;
          record["signature"] = token.slice(token.lastIndexOf(".") + 1);
          return verifyThenCheck(c, i, record, header, now);
        } catch (err) {
          if (c.x.signal?.aborted) throw err;
          c.failure ??= describeFailure(err);
        }
      }
      return outcome(c);
    }

    async function verifyThenCheck(c: TokenCheck, i: number, record: Record<string, unknown>, header: ProtectedHeaderParameters, now: number): Promise<ActionStep> {
      const { cache, verified } = c.verifier;
      const token = (c.found[i] as FoundToken).token;
      try {
        const generation = cache.generation;
        const options = { ...baseOptions, issuer: c.issuerList, currentDate: new Date(now) };
        const result = await jwtVerify(token, cache.resolver(c.x.rt, c.x.signal), options);
        record["payload"] = result.payload as JWTPayload;
        record["verified"] = true;
        verified.set(token, c.cacheKey, result.payload, header, generation, now);
      } catch (err) {
        if (c.x.signal?.aborted) throw err;
        c.failure ??= describeFailure(err);
      }
      return checkFrom(c, i + 1);
    }

    function outcome({ x, tokens, failure, known, found }: TokenCheck): ActionStep {
      const result = failure ? { tokens, error: { code: failure.code, message: failure.message } } : { tokens };
      x.setResult("jwt_validation", result);
      if (!failure && known !== undefined) lastResult = { known, name: (found[0] as FoundToken).name, method: (found[0] as FoundToken).method, result };
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
    }
  },
};

interface FoundToken {
  readonly token: string;
  readonly name: string;
  readonly method: "header" | "body";
}

/** One run's checks: the tokens found, their records for `actions.ngrok.jwt_validation`, the first failure. */
interface TokenCheck {
  readonly x: ActionExecution;
  readonly found: readonly FoundToken[];
  readonly issuerList: string[];
  readonly cacheKey: string;
  readonly verifier: Verifier;
  readonly tokens: Array<Record<string, unknown>>;
  failure: Failure | undefined;
  /** The cache entry of the request's one token, when it was verified before. */
  known: object | undefined;
}

/** A token at `raw` if it starts with `prefix` (compared without case), without the prefix. */
function withPrefix(found: FoundToken[], raw: string | undefined, prefix: string, name: string, method: "header" | "body"): void {
  if (raw === undefined) return;
  if (startsWithIgnoringCase(raw, prefix)) found.push({ token: raw.slice(prefix.length).trim(), name, method });
}

/** `raw.slice(0, prefix.length).toLowerCase() === prefix.toLowerCase()`, without making either string. */
function startsWithIgnoringCase(raw: string, prefix: string): boolean {
  if (raw.startsWith(prefix)) return true;
  return raw.slice(0, prefix.length).toLowerCase() === prefix.toLowerCase();
}

/** The tokens in the request's headers, when every source is a header. */
function headerTokens(x: ActionExecution, sources: readonly TokenSource[]): FoundToken[] {
  const headers = x.view?.request.headers ?? new Map<string, string[]>();
  const found: FoundToken[] = [];
  for (const source of sources) {
    const name = source.lowerName ?? source.name.render(x.scope).toLowerCase();
    withPrefix(found, headers.get(name)?.[0], source.prefix?.render(x.scope) ?? "", name, "header");
  }
  return found;
}

/** The tokens in the request's headers and body, in the order of the sources. */
async function allTokens(x: ActionExecution, sources: readonly TokenSource[]): Promise<FoundToken[]> {
  const headers = x.view?.request.headers ?? new Map<string, string[]>();
  const found: FoundToken[] = [];
  for (const source of sources) {
    const name = source.method === "header" ? source.name.render(x.scope).toLowerCase() : source.name.render(x.scope);
    const prefix = source.prefix?.render(x.scope) ?? "";
    withPrefix(found, source.method === "header" ? firstHeader(headers, name) : await tokenFromBody(x, name), prefix, name, source.method);
  }
  return found;
}

const JKU = /^https?:\/\/[^\s/]+/;

/** The texts of templates that have no `${…}`, or undefined if any has. */
function constants(templates: readonly Template[]): string[] | undefined {
  const out: string[] = [];
  for (const t of templates) {
    if (t.constant === undefined) return undefined;
    out.push(t.constant);
  }
  return out;
}

interface Verifier {
  readonly cache: JwksCache;
  readonly verified: VerifiedTokenCache;
}

/**
 * 16 distinct interpolated JKU sets per action (one per tenant, say), each with its own key cache
 * and a smaller verified-token cache (1,000 tokens), so a set that changes per request cannot hold
 * unbounded memory.
 */
const DYNAMIC_JKU_SETS = 16;

/** The key cache for this request's JKUs: one for literal URLs, one per distinct interpolated set. */
function verifiersFor(jkus: readonly Template[]): (x: ActionExecution) => Verifier {
  const fixed = constants(jkus);
  if (fixed) {
    const verifier = { cache: new JwksCache(fixed), verified: new VerifiedTokenCache() };
    return () => verifier;
  }
  const sets = new BoundedCache<string, Verifier>(DYNAMIC_JKU_SETS);
  return (x) => {
    const urls = jkus.map((t) => t.render(x.scope));
    for (const url of urls) {
      if (!JKU.test(url)) throw new EvaluationError(`additional_jkus produced ${JSON.stringify(url)}, which is not an http(s) URL`);
    }
    return sets.getOrMake(urls.join("\n"), () => ({ cache: new JwksCache(urls), verified: new VerifiedTokenCache(1_000) }));
  };
}

/**
 * `jws.keys.identification`: how a token names its signing key. ngrok documents a list of
 * `{token_claims: [kid]}` with `kid` the only supported claim; Onramp always selects keys by the
 * token's `kid` when it has one, so the setting is checked and needs no further handling.
 */
function readIdentification(keys: ConfigReader): void {
  const n = keys.node("identification");
  if (!n) return;
  const items = isSeq(n.value)
    ? n.value.items.map((item, i) => ({ value: item as Node | null, cursor: n.cursor.index(i, item as Node) }))
    : [{ value: n.value, cursor: n.cursor }];
  for (const item of items) {
    const entry = ConfigReader.of(keys.cx, item.cursor, item.value);
    for (const claim of entry?.stringList("token_claims") ?? []) {
      if (claim.value !== "kid") claim.cursor.error(`unsupported claim ${JSON.stringify(claim.value)} (supported: "kid")`);
    }
    entry?.finish();
  }
}

/** `{allow_list: [{value: "…"}, …]}` → the values, read by `value`. */
function readAllowList<T>(reader: ConfigReader | undefined, value: (entry: ConfigReader) => T | undefined): T[] | undefined {
  if (!reader) return undefined;
  const out: T[] = [];
  for (const item of reader.list("allow_list", { required: true, min: 1 }) ?? []) {
    const entry = ConfigReader.of(reader.cx, item.cursor, item.value);
    const v = entry && value(entry);
    entry?.finish();
    if (v !== undefined) out.push(v);
  }
  reader.finish();
  return out.length > 0 ? out : undefined;
}
