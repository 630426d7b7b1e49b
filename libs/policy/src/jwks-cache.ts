import { type JSONWebKeySet, type JWTVerifyGetKey, createLocalJWKSet, errors } from "jose";
import type { PolicyRuntime } from "./runtime.js";

export interface JwksCacheOptions {
  /** 15 min: ngrok refreshes JWKS "roughly every 15 minutes"; key rotations publish well ahead. */
  readonly refreshMs?: number;
  /**
   * 30 s: least time between fetches forced by an unknown `kid`. A rotation is picked up within one
   * request, and a client sending random `kid`s cannot make the edge hammer the identity provider.
   */
  readonly minRefetchMs?: number;
  /** 5 s: a slow JWKS endpoint should fail a request, not hold it for the client's whole timeout. */
  readonly fetchTimeoutMs?: number;
}

/** No usable signing keys: every JWKS fetch failed and nothing is cached. */
export class JwksUnavailableError extends Error {
  override readonly name = "JwksUnavailableError";
}

interface Entry {
  keys: JWTVerifyGetKey | undefined;
  fetchedAt: number;
  inflight: Promise<void> | undefined;
  lastError: unknown;
}

function raceAbort<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

function isJwks(v: unknown): v is JSONWebKeySet {
  return typeof v === "object" && v !== null && Array.isArray((v as { keys?: unknown }).keys);
}

/**
 * Signing keys from the `additional_jkus` of one `jwt-validation` action, fetched through the
 * runtime's `fetchJson`, cached, refreshed on an interval and re-fetched (rate-limited) when a
 * token names a `kid` no cached set has — the usual sign of a key rotation. A failed refresh keeps
 * serving the previous keys.
 */
export class JwksCache {
  private readonly entries: Map<string, Entry>;
  private lastForcedAt = Number.NEGATIVE_INFINITY;
  private generationValue = 0;
  private readonly refreshMs: number;
  private readonly minRefetchMs: number;
  private readonly fetchTimeoutMs: number;

  constructor(urls: readonly string[], options: JwksCacheOptions = {}) {
    this.entries = new Map(urls.map((u) => [u, { keys: undefined, fetchedAt: Number.NEGATIVE_INFINITY, inflight: undefined, lastError: undefined }]));
    this.refreshMs = options.refreshMs ?? 15 * 60_000;
    this.minRefetchMs = options.minRefetchMs ?? 30_000;
    this.fetchTimeoutMs = options.fetchTimeoutMs ?? 5_000;
  }

  /** Changes whenever a key set is replaced, so results verified with older keys can be dropped. */
  get generation(): number {
    return this.generationValue;
  }

  /** A key resolver for `jwtVerify`, bound to one request's runtime and signal. */
  resolver(rt: PolicyRuntime, signal: AbortSignal | undefined): JWTVerifyGetKey {
    return async (header, token) => {
      await raceAbort(this.load(rt, false), signal);
      try {
        return await this.find(header, token);
      } catch (err) {
        if (!(err instanceof errors.JWKSNoMatchingKey)) throw err;
        const now = rt.now();
        if (now - this.lastForcedAt < this.minRefetchMs) throw err;
        this.lastForcedAt = now;
        await raceAbort(this.load(rt, true), signal);
        return this.find(header, token);
      }
    };
  }

  private async find(...args: Parameters<JWTVerifyGetKey>): Promise<Awaited<ReturnType<JWTVerifyGetKey>>> {
    let sawKeys = false;
    for (const e of this.entries.values()) {
      if (!e.keys) continue;
      sawKeys = true;
      try {
        return await e.keys(...args);
      } catch (err) {
        if (!(err instanceof errors.JWKSNoMatchingKey)) throw err;
      }
    }
    if (!sawKeys) {
      const cause = [...this.entries.values()].find((e) => e.lastError !== undefined)?.lastError;
      throw new JwksUnavailableError("no signing keys could be fetched", { cause });
    }
    throw new errors.JWKSNoMatchingKey();
  }

  private load(rt: PolicyRuntime, force: boolean): Promise<void> {
    const now = rt.now();
    const pending: Array<Promise<void>> = [];
    for (const [url, e] of this.entries) {
      if (e.inflight) pending.push(e.inflight);
      else if (force || now - e.fetchedAt >= this.refreshMs) pending.push(this.refresh(url, e, rt));
    }
    return Promise.all(pending).then(() => undefined);
  }

  private refresh(url: string, e: Entry, rt: PolicyRuntime): Promise<void> {
    // The fetch has its own deadline rather than the request's signal: it is shared by every
    // request waiting on it, and one client hanging up must not cancel it for the others.
    e.inflight = rt
      .fetchJson(url, AbortSignal.timeout(this.fetchTimeoutMs))
      .then((doc) => {
        if (!isJwks(doc)) throw new Error(`${url} did not serve a JWKS ({"keys": [...]})`);
        e.keys = createLocalJWKSet(doc);
        this.generationValue++;
        e.lastError = undefined;
      })
      .catch((err: unknown) => {
        e.lastError = err;
      })
      .finally(() => {
        // A failed fetch is retried after minRefetchMs, not on every request (a dead provider
        // would otherwise get one fetch per request) and not after a full refresh interval.
        const failed = e.lastError !== undefined;
        e.fetchedAt = rt.now() - (failed ? Math.max(0, this.refreshMs - this.minRefetchMs) : 0);
        e.inflight = undefined;
      });
    return e.inflight;
  }
}
