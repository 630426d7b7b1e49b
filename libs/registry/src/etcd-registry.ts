import { ErrorCode, OnrampError } from "@onramp/errors";
import { pause, retryDelayMs } from "./backoff.js";
import {
  bytes,
  callEtcd,
  claimTxn,
  createEtcdClient,
  decodeBinding,
  deleteIfUnchanged,
  isLeaseGone,
  putCloudEndpointTxn,
  readSnapshot,
} from "./etcd-kv.js";
import { EdgeLease } from "./etcd-lease.js";
import { resolveEtcdRegistryOptions, type EtcdRegistryOptions } from "./etcd-options.js";
import { watchRegistry } from "./etcd-watch.js";
import { BINDINGS, bindingKey, cloudEndpointKey, edgeKey, isValidId, prefixEnd, sessionKey } from "./keys.js";
import type { BindingRecord, CloudEndpointRecord, EdgeRecord, SessionRecord } from "./records.js";
import type { BindingClaim, Registry, RegistryWatch } from "./registry.js";

/** A binding this edge wrote: the claim handed out, and the revision of its latest write. */
interface OwnedBinding {
  readonly claim: BindingClaim;
  revision: number;
}

/** etcd refuses transactions of more than 128 operations (`--max-txn-ops`). */
const TXN_OPS = 100;

/**
 * The registry of a mesh: etcd, shared by every edge. Conflicts are decided by one transaction
 * per claim (keys.ts); the edge's bindings, sessions and record live under its lease; when the
 * lease is lost, they are all written again under a new one.
 */
export function createEtcdRegistry(options: EtcdRegistryOptions): Registry {
  const opts = resolveEtcdRegistryOptions(options);
  const { logger } = opts;
  const client = createEtcdClient(opts);
  const owned = new Map<string, OwnedBinding>();
  /** Session key → its JSON, to write again under a new lease. */
  const sessions = new Map<string, string>();
  const watches = new Set<RegistryWatch>();
  const stopped = new AbortController();
  const lease = new EdgeLease({ client, options: opts, rewrite: (id) => rewriteAll(id) });
  let edge: EdgeRecord | undefined;
  let closing: Promise<void> | undefined;

  /** Writes to one key run one after another, so a claim, its release and a rewrite never interleave. */
  const queues = new Map<string, Promise<void>>();
  const serial = <T>(key: string, task: () => Promise<T>): Promise<T> => {
    const run = (queues.get(key) ?? Promise.resolve()).then(task);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    queues.set(key, tail);
    void tail.then(() => queues.get(key) === tail && queues.delete(key));
    return run;
  };

  /** Runs `write` under the lease in force; if etcd no longer has it, once more under the next one. */
  const underLease = async <T>(write: (leaseId: string) => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      const id = await callEtcd(opts, () => lease.id());
      try {
        return await write(id);
      } catch (err) {
        if (!isLeaseGone(err) || attempt === 2) throw err;
        lease.invalidate(id, err as Error);
      }
    }
  };

  const putUnder = (key: string, value: string, leaseId: string) =>
    callEtcd(opts, (o) => client.kv.put({ key: bytes(key), value: bytes(value), lease: leaseId }, o));

  /** Deletes `key` once etcd answers, unless it changed meanwhile or this edge owns it again. */
  const deleteLater = async (key: string, unchanged: { revision: number } | { value: string }) => {
    for (let attempt = 1; !stopped.signal.aborted; attempt++) {
      await pause(retryDelayMs(attempt), stopped.signal);
      if (stopped.signal.aborted) return;
      try {
        await serial(key, async () => void (owned.has(key) || (await deleteIfUnchanged(client, opts, key, unchanged))));
        return;
      } catch (err) {
        logger.debug({ err, key }, "registry: delete still pending");
      }
    }
  };

  /** Claims an owned binding again under `leaseId`; one that can no longer be claimed is lost. */
  const reclaim = async (entry: OwnedBinding, leaseId: string): Promise<void> => {
    const { key, binding } = entry.claim;
    if (owned.get(key) !== entry) return;
    try {
      entry.revision = await claimTxn(client, opts, binding, leaseId);
    } catch (err) {
      if (!(err instanceof OnrampError && err.code === ErrorCode.BindConflict)) throw err;
      owned.delete(key);
      logger.warn({ err, key }, "a binding of this edge was taken while its lease was lost; dropping it");
      try {
        registry.onLostBinding?.(entry.claim, err);
      } catch (handlerErr) {
        logger.error({ err: handlerErr, key }, "onLostBinding threw");
      }
    }
  };

  /** Everything this edge owns, written again under a new lease. */
  const rewriteAll = async (leaseId: string): Promise<void> => {
    if (edge) await putUnder(edgeKey(edge.id), JSON.stringify(edge), leaseId);
    await Promise.all([
      ...[...sessions.keys()].map((key) => serial(key, async () => void (sessions.has(key) && (await putUnder(key, sessions.get(key)!, leaseId))))),
      ...[...owned.values()].map((entry) => serial(entry.claim.key, () => reclaim(entry, leaseId))),
    ]);
  };

  const checkBinding = (b: BindingRecord) => {
    checkIds({ agent_id: b.agent_id, edge: b.edge, session_id: b.session_id });
    checkHost(b.host);
    if (edge && b.edge !== edge.id) throw new OnrampError(ErrorCode.InvalidArgument, `binding.edge ${b.edge} is not this edge (${edge.id})`);
  };

  const registry: Registry = {
    onLostBinding: undefined,

    async registerEdge(record: EdgeRecord) {
      checkIds({ "edge id": record.id });
      if (edge && edge.id !== record.id) throw new OnrampError(ErrorCode.InvalidArgument, `this registry is already registered as edge ${edge.id}`);
      await lease.start();
      edge = { ...record };
      // A previous incarnation of this edge (same id) left its bindings behind: they are dead.
      const all = await callEtcd(opts, (o) => client.kv.range({ key: bytes(BINDINGS), range_end: bytes(prefixEnd(BINDINGS)) }, o));
      const stale = all.kvs.map(decodeBinding).filter((b) => b?.binding.edge === record.id && !owned.has(b.key));
      for (let i = 0; i < stale.length; i += TXN_OPS) {
        const deletes = stale.slice(i, i + TXN_OPS).map((b) => ({ request_delete_range: { key: bytes(b!.key) } }));
        await callEtcd(opts, (o) => client.kv.txn({ success: deletes }, o));
      }
      const value = JSON.stringify(edge);
      await underLease((id) => putUnder(edgeKey(record.id), value, id));
    },

    async claimBinding(binding: BindingRecord): Promise<BindingClaim> {
      checkBinding(binding);
      const record = { ...binding };
      const key = bindingKey(record);
      return serial(key, async () => {
        let generation = 0;
        let revision: number;
        try {
          revision = await underLease((id) => {
            generation = lease.generation;
            return claimTxn(client, opts, record, id);
          });
        } catch (err) {
          // A claim that timed out may still land in etcd: take it back out once etcd answers.
          if (err instanceof OnrampError && err.code === ErrorCode.RegistryUnavailable) void deleteLater(key, { value: JSON.stringify(record) });
          throw err;
        }
        const claim: BindingClaim = { key, revision, binding: record };
        const entry: OwnedBinding = { claim, revision };
        owned.set(key, entry);
        // Written under a lease that was replaced meanwhile: write it again under the new one.
        if (generation !== lease.generation) void serial(key, async () => reclaim(entry, await lease.id())).catch(() => undefined);
        return claim;
      });
    },

    releaseBinding(claim: BindingClaim) {
      return serial(claim.key, async () => {
        const entry = owned.get(claim.key);
        // Identified by the revision it was handed out with: a newer claim of the key has another.
        if (!entry || entry.claim.revision !== claim.revision) return undefined;
        owned.delete(claim.key);
        try {
          return await deleteIfUnchanged(client, opts, claim.key, { revision: entry.revision });
        } catch (err) {
          logger.warn({ err, key: claim.key }, "could not release a binding yet; retrying in the background");
          void deleteLater(claim.key, { revision: entry.revision });
          return undefined;
        }
      });
    },

    async putSession(session: SessionRecord) {
      const key = sessionKey(session.edge, session.id);
      if (!isValidId(session.edge) || !isValidId(session.id)) return logger.warn({ key }, "session not recorded: invalid id");
      const value = JSON.stringify(session);
      await serial(key, async () => {
        sessions.set(key, value);
        await underLease((id) => putUnder(key, value, id)).catch((err: unknown) => logger.warn({ err, key }, "could not record a session"));
      });
    },

    async deleteSession(edgeId: string, id: string) {
      const key = sessionKey(edgeId, id);
      await serial(key, async () => {
        sessions.delete(key);
        await callEtcd(opts, (o) => client.kv.deleteRange({ key: bytes(key) }, o)).catch((err: unknown) => logger.warn({ err, key }, "could not delete a session"));
      });
    },

    async putCloudEndpoint(endpoint: CloudEndpointRecord) {
      checkHost(endpoint.host);
      return putCloudEndpointTxn(client, opts, endpoint);
    },

    async deleteCloudEndpoint(host: string) {
      checkHost(host);
      await callEtcd(opts, (o) => client.kv.deleteRange({ key: bytes(cloudEndpointKey(host)) }, o));
    },

    snapshot: () => readSnapshot(client, opts),

    watch(handler) {
      if (closing) throw new OnrampError(ErrorCode.Internal, "the registry is closed");
      const watch = watchRegistry(client, opts, handler);
      watches.add(watch);
      return {
        ready: () => watch.ready(),
        close() {
          watches.delete(watch);
          watch.close();
        },
      };
    },

    close() {
      closing ??= (async () => {
        stopped.abort();
        for (const watch of watches) watch.close();
        watches.clear();
        await lease.close();
        owned.clear();
        sessions.clear();
        client.close();
      })();
      return closing;
    },
  };
  return registry;
}

function checkIds(ids: Record<string, string>): void {
  for (const [field, value] of Object.entries(ids)) {
    if (!isValidId(value)) {
      throw new OnrampError(ErrorCode.InvalidArgument, `${field} ${JSON.stringify(value)} is not a valid id (1–128 letters, digits or ._:@-)`);
    }
  }
}

function checkHost(host: string): void {
  if (!host || host.includes("/")) throw new OnrampError(ErrorCode.InvalidArgument, `host ${JSON.stringify(host)} is not a hostname`);
}
