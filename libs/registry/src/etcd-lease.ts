import { ErrorCode, OnrampError } from "@onramp/errors";
import type { Etcd3, Lease } from "etcd3";
import { pause, retryDelayMs } from "./backoff.js";
import { callEtcd, isLeaseGone } from "./etcd-kv.js";
import type { ResolvedEtcdRegistryOptions } from "./etcd-options.js";

export interface EdgeLeaseDeps {
  client: Etcd3;
  options: ResolvedEtcdRegistryOptions;
  /** Writes everything the edge owns again under the lease `leaseId`; rejects to be retried. */
  rewrite(leaseId: string): Promise<void>;
}

/**
 * The edge's lease: granted once, kept alive by etcd3, replaced when lost. etcd3 reports a loss
 * when etcd says the lease is gone (a keepalive answered with TTL 0), or after 2×TTL without an
 * answer; a write refused for an unknown lease reports it too (`invalidate`). A failed keepalive
 * alone is not a loss: etcd3 retries it, and the lease lives on the server for its TTL.
 */
export class EdgeLease {
  private lease: Lease | undefined;
  private leaseId: string | undefined;
  /** Bumped on every new grant: a write made under an older lease must be made again. */
  generation = 0;
  private current: Promise<string> | undefined;
  private waiting: { promise: Promise<string>; resolve(id: string): void; reject(err: Error): void } | undefined;
  private recovering = false;
  private keepaliveFailing = false;
  private closed = false;
  private readonly stopped = new AbortController();

  constructor(private readonly deps: EdgeLeaseDeps) {}

  /** Grants the first lease; REGISTRY_UNAVAILABLE if etcd does not answer in time. */
  async start(): Promise<string> {
    if (this.current) return this.current;
    await this.grant();
    return this.leaseId!;
  }

  /** The id of the lease in force; while a lost lease is being replaced, waits for the new one. */
  id(): Promise<string> {
    if (this.closed) return Promise.reject(new OnrampError(ErrorCode.Internal, "the registry is closed"));
    if (!this.current) return Promise.reject(new OnrampError(ErrorCode.Internal, "registerEdge must be called before writing to the registry"));
    return this.current;
  }

  /** A write under `leaseId` was refused because etcd no longer has that lease. */
  invalidate(leaseId: string, why: Error): void {
    if (leaseId === this.leaseId && this.lease) this.onLost(this.lease, why);
  }

  /** Stops the keepalive and revokes the lease, so the edge's keys vanish at once. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stopped.abort();
    this.waiting?.reject(new OnrampError(ErrorCode.Internal, "the registry is closed"));
    const lease = this.lease;
    this.lease = undefined;
    if (!lease) return;
    await callEtcd(this.deps.options, (o) => lease.revoke(o)).catch((err: unknown) =>
      this.deps.options.logger.warn({ err, lease: this.leaseId }, "could not revoke the edge's lease; its keys go when it expires"),
    );
  }

  private async grant(): Promise<void> {
    const { client, options } = this.deps;
    // etcd3 applies `deadline` to the grant only, not to the keepalives.
    const lease = client.lease(options.leaseTtlSeconds, { autoKeepAlive: true, deadline: Date.now() + options.requestTimeoutMs });
    let id: string;
    try {
      id = await callEtcd(options, () => lease.grant());
    } catch (err) {
      lease.release();
      throw err;
    }
    if (this.closed) {
      void lease.revoke().catch(() => undefined);
      throw new OnrampError(ErrorCode.Internal, "the registry is closed");
    }
    lease.on("lost", (err) => this.onLost(lease, err));
    lease.on("keepaliveFailed", (err) => {
      if (this.keepaliveFailing || lease !== this.lease) return;
      this.keepaliveFailing = true;
      options.logger.warn({ err, lease: id }, "etcd lease keepalive failing; retrying (the lease lives for its TTL)");
    });
    lease.on("keepaliveSucceeded", () => {
      if (!this.keepaliveFailing || lease !== this.lease) return;
      this.keepaliveFailing = false;
      options.logger.info({ lease: id }, "etcd lease keepalive recovered");
    });
    this.lease = lease;
    this.leaseId = id;
    this.keepaliveFailing = false;
    this.generation++;
    this.current = Promise.resolve(id);
    this.waiting?.resolve(id);
    this.waiting = undefined;
  }

  private onLost(lease: Lease, why: Error): void {
    if (this.closed || lease !== this.lease) return;
    lease.release();
    if (!this.waiting) {
      let resolve!: (id: string) => void;
      let reject!: (err: Error) => void;
      const promise = new Promise<string>((res, rej) => ((resolve = res), (reject = rej)));
      promise.catch(() => undefined);
      this.waiting = { promise, resolve, reject };
      this.current = promise;
    }
    if (!this.recovering) void this.recover(lease, why);
  }

  /** New lease, everything written again; repeated (with backoff) until both succeed. */
  private async recover(lost: Lease, why: Error): Promise<void> {
    const { logger } = this.deps.options;
    this.recovering = true;
    logger.warn({ err: why, lease: this.leaseId }, "etcd lease lost; taking a new one and writing this edge's keys again");
    for (let attempt = 0; !this.closed; attempt++) {
      if (attempt > 0) await pause(retryDelayMs(attempt), this.stopped.signal);
      if (this.closed) break;
      try {
        if (this.waiting) await this.grant();
        const lease = this.lease!;
        await this.deps.rewrite(this.leaseId!);
        if (lease === this.lease && !lease.revoked()) {
          logger.info({ lease: this.leaseId }, "edge registered again under a new lease");
          break;
        }
      } catch (err) {
        if (isLeaseGone(err) && this.lease) this.onLost(this.lease, err as Error);
        logger.warn({ err, attempt }, "could not register the edge again yet; retrying");
      }
    }
    this.recovering = false;
    // Keys written again now belong to the new lease; whatever is left on the old one goes.
    if (!this.closed) void callEtcd(this.deps.options, (o) => lost.revoke(o)).catch(() => undefined);
  }
}
