import { createMemoryCertificateStore, type CertificateStore as SharedCertificateStore, type StoredCertificate } from "@onramp/registry";
import type { Logger } from "@onramp/telemetry";
import { isIP } from "node:net";
import { createSecureContext, type SecureContext } from "node:tls";
import type { ResolvedAcmeOptions } from "./acme-options.js";
import { alpnChallengeKey, httpChallengeKey, orderCertificate } from "./acme-order.js";

/**
 * 5 min: longer than an order takes (seconds, at most a minute or two with the CA's retries), short
 * enough that a name whose edge died mid-order is ordered again soon.
 */
const ORDER_LOCK_TTL_MS = 5 * 60_000;

/** While another edge orders a name, a waiting handshake reads the store this often, in ms. */
const STORE_POLL_MS = 250;

export interface AcmeCertificatesDeps {
  /** This edge's id, known once started: it names the holder of an order lock. */
  edgeId(): string;
  /** Whether the mesh serves exactly this hostname (a bound or cloud endpoint, or a reserved domain). */
  serves(hostname: string): boolean;
  logger: Logger;
}

interface Served {
  readonly stored: StoredCertificate;
  readonly context: SecureContext;
  /** At 2/3 of its lifetime, as certbot and Caddy renew: a month before a 90-day certificate expires. */
  readonly renewAt: number;
  readonly expiresAt: number;
}

/**
 * The edge's ACME certificates: kept in the shared store, served from a local copy, ordered when
 * a client asks for a name the mesh serves and none is stored, renewed at 2/3 of their lifetime.
 * One edge at a time orders a name (the store's order lock); every edge picks the result up from
 * the store. A failed order is logged and tried again after a doubling delay; nothing here throws
 * into a handshake.
 */
export class AcmeCertificates {
  private readonly served = new Map<string, Served>();
  private readonly orders = new Map<string, Promise<void>>();
  private readonly failures = new Map<string, { count: number; retryAt: number }>();
  private readonly store: SharedCertificateStore;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly options: ResolvedAcmeOptions,
    private readonly deps: AcmeCertificatesDeps,
  ) {
    this.store = options.store ?? createMemoryCertificateStore();
  }

  /** Loads what the store holds, then follows it every `pollMs`. */
  async start(): Promise<void> {
    await this.poll();
    this.timer ??= setInterval(() => void this.poll(), this.options.pollMs).unref();
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await Promise.allSettled(this.orders.values());
    await this.store.close();
  }

  /**
   * The certificate for a handshake's SNI name. A name the mesh serves without one starts an
   * order (or waits on another edge's) and waits up to `handshakeWaitMs` for it; undefined means
   * the listener's default certificate, if it has one.
   */
  async contextFor(servername: string | undefined): Promise<SecureContext | undefined> {
    const name = normalise(servername);
    if (name === undefined) return undefined;
    const current = this.served.get(name);
    if (current && current.expiresAt > Date.now()) {
      if (current.renewAt <= Date.now()) void this.ensure(name);
      return current.context;
    }
    if (!this.eligible(name)) return undefined;
    const order = this.ensure(name);
    if (order) await withTimeout(order, this.options.handshakeWaitMs);
    return this.served.get(name)?.context;
  }

  /** The key authorization of an HTTP-01 token, for a hostname the mesh serves. */
  async httpChallenge(hostname: string | undefined, token: string): Promise<string | undefined> {
    const name = normalise(hostname);
    if (name === undefined || !this.eligible(name) || !/^[A-Za-z0-9_-]+$/.test(token)) return undefined;
    return this.store.getChallenge(httpChallengeKey(token));
  }

  /** The TLS-ALPN-01 certificate of a hostname being validated. */
  async alpnChallenge(servername: string): Promise<SecureContext | undefined> {
    const name = normalise(servername);
    if (name === undefined || !this.eligible(name)) return undefined;
    const value = await this.store.getChallenge(alpnChallengeKey(name));
    if (value === undefined) return undefined;
    const { cert, key } = JSON.parse(value) as { cert: string; key: string };
    return createSecureContext({ cert, key });
  }

  /** Hostnames with a certificate served here, for status and tests. */
  hostnames(): string[] {
    return [...this.served.keys()];
  }

  private eligible(name: string): boolean {
    // ACME certificates name DNS hostnames: no IP address, wildcard or single label (localhost).
    return !isIP(name) && name.includes(".") && !name.includes("*") && this.deps.serves(name);
  }

  /** The order in progress for `name`, or a new one; undefined while a failed name backs off. */
  private ensure(name: string): Promise<void> | undefined {
    const running = this.orders.get(name);
    if (running) return running;
    const failed = this.failures.get(name);
    if (failed && failed.retryAt > Date.now()) return undefined;
    const order = this.order(name).finally(() => this.orders.delete(name));
    this.orders.set(name, order);
    return order;
  }

  private async order(name: string): Promise<void> {
    const { logger } = this.deps;
    try {
      const lock = await this.store.lockOrder(name, this.deps.edgeId(), ORDER_LOCK_TTL_MS);
      if (!lock) return await this.awaitOtherEdge(name);
      try {
        // Another edge may have finished an order between our last read and the lock.
        const stored = await this.store.getCertificate(name);
        if (stored && this.adopt(stored) && !this.due(name)) return;
        if (!this.eligible(name)) return;
        logger.info({ hostname: name, directory: this.options.directoryUrl, challenge: this.options.challenge }, "ordering a TLS certificate by ACME");
        const certificate = await orderCertificate(name, this.options, this.store, this.deps.edgeId());
        await this.store.putCertificate(certificate);
        this.adopt(certificate);
        this.failures.delete(name);
        logger.info({ hostname: name, not_after: certificate.not_after }, "TLS certificate obtained by ACME");
      } finally {
        await lock.release().catch((err: Error) => logger.debug({ hostname: name, err: err.message }, "ACME order lock not released; it lapses by itself"));
      }
    } catch (err) {
      const count = (this.failures.get(name)?.count ?? 0) + 1;
      const delay = Math.min(this.options.retryMaxMs, this.options.retryMinMs * 2 ** Math.min(count - 1, 30));
      this.failures.set(name, { count, retryAt: Date.now() + delay });
      logger.error({ hostname: name, err: describe(err), failures: count, retry_in_ms: delay }, "ACME order failed");
    }
  }

  /** Another edge holds the lock: its certificate shows up in the store. */
  private async awaitOtherEdge(name: string): Promise<void> {
    const until = Date.now() + this.options.handshakeWaitMs;
    while (Date.now() < until) {
      const stored = await this.store.getCertificate(name);
      if (stored && this.adopt(stored) && !this.due(name)) return;
      await new Promise((resolve) => setTimeout(resolve, STORE_POLL_MS));
    }
  }

  /** Serves a stored certificate unless it is the one served already; false when unusable. */
  private adopt(stored: StoredCertificate): boolean {
    const current = this.served.get(stored.hostname);
    if (current?.stored.cert === stored.cert) return true;
    try {
      const notBefore = Date.parse(stored.not_before);
      const expiresAt = Date.parse(stored.not_after);
      if (current && current.expiresAt >= expiresAt) return true;
      const context = createSecureContext({ cert: stored.cert, key: stored.key });
      this.served.set(stored.hostname, { stored, context, expiresAt, renewAt: notBefore + ((expiresAt - notBefore) * 2) / 3 });
      if (current) this.deps.logger.info({ hostname: stored.hostname, not_after: stored.not_after }, "renewed TLS certificate served");
      return true;
    } catch (err) {
      this.deps.logger.error({ hostname: stored.hostname, err: describe(err) }, "stored ACME certificate unusable");
      return false;
    }
  }

  private due(name: string): boolean {
    const current = this.served.get(name);
    return current === undefined || current.renewAt <= Date.now();
  }

  /** Picks up certificates other edges stored, and renews those due for names still served. */
  private async poll(): Promise<void> {
    try {
      for (const stored of await this.store.listCertificates()) this.adopt(stored);
    } catch (err) {
      this.deps.logger.warn({ err: describe(err) }, "ACME certificates not read from the store; serving those already loaded");
      return;
    }
    for (const name of this.served.keys()) {
      if (this.due(name) && this.eligible(name)) void this.ensure(name);
    }
  }
}

function normalise(name: string | undefined): string | undefined {
  const n = name?.trim().toLowerCase().replace(/\.$/, "");
  return n ? n : undefined;
}

function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]).finally(() => clearTimeout(timer));
}

/** acme-client's errors carry the CA's problem document in the message (type and detail). */
function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
