import { ErrorCode, OnrampError } from "@onramp/errors";
import { EtcdLeaseInvalidError, Etcd3, type ICompare, type IKeyValue, type IOptions, type IRangeResponse } from "etcd3";
import { bindConflict, cloudEndpointConflict } from "./conflicts.js";
import { BINDINGS, CLOUD_ENDPOINTS, EDGES, bindingKey, cloudEndpointKey, compatibleRange, hostPrefix, prefixEnd } from "./keys.js";
import type { ResolvedEtcdRegistryOptions } from "./etcd-options.js";
import type {
  BindingRecord,
  CloudEndpointRecord,
  EdgeRecord,
  RegistrySnapshot,
  StoredBinding,
  StoredCloudEndpoint,
  StoredEdge,
} from "./records.js";

type FaultPolicy = ReturnType<NonNullable<NonNullable<IOptions["faultHandling"]>["host"]>>;

/**
 * etcd3's default fault handling retries every call 3 times and opens a 5 s circuit breaker after
 * 3 failures, and the breaker keeps failing calls for 5 s after etcd is back. Here every call has
 * its own deadline and its caller decides: a claim fails with REGISTRY_UNAVAILABLE, the watch
 * and the lease retry with backoff. etcd3 only ever calls `execute` on a policy.
 */
const passThrough = {
  execute: (fn: (context: { signal: AbortSignal }) => unknown) => Promise.resolve().then(() => fn({ signal: new AbortController().signal })),
} as unknown as FaultPolicy;

export function createEtcdClient(options: ResolvedEtcdRegistryOptions): Etcd3 {
  return new Etcd3({
    hosts: [...options.endpoints],
    faultHandling: { host: () => passThrough, global: passThrough },
    grpcOptions: {
      // grpc-js backs reconnects off up to 120 s: an etcd back after a restart could go unused for minutes.
      "grpc.max_reconnect_backoff_ms": 5_000,
      // A snapshot of a large mesh is one response; gRPC's default cap is 4 MiB.
      "grpc.max_receive_message_length": -1,
    },
  });
}

/**
 * Runs one etcd call with a deadline of `requestTimeoutMs` (and a timer of the same length, in
 * case gRPC never reports it); anything that goes wrong becomes REGISTRY_UNAVAILABLE.
 */
export async function callEtcd<T>(options: ResolvedEtcdRegistryOptions, call: (callOptions: { deadline: number }) => Promise<T>): Promise<T> {
  const ms = options.requestTimeoutMs;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([call({ deadline: Date.now() + ms }), timeout]);
  } catch (err) {
    throw registryUnavailable(options, err);
  } finally {
    clearTimeout(timer);
  }
}

function registryUnavailable(options: ResolvedEtcdRegistryOptions, err: unknown): OnrampError {
  if (err instanceof OnrampError) return err;
  const where = `the registry (etcd at ${options.endpoints.join(", ")})`;
  const retry = "what is already bound keeps serving; try again";
  const timedOut = err instanceof Error && /deadline|no answer within/i.test(err.message);
  const message = timedOut
    ? `${where} did not answer within ${options.requestTimeoutMs} ms; ${retry}`
    : `${where} could not be reached (${err instanceof Error ? err.message : String(err)}); ${retry}`;
  return new OnrampError(ErrorCode.RegistryUnavailable, message, { cause: err });
}

/** The write named a lease etcd no longer has (expired or revoked). */
export function isLeaseGone(err: unknown): boolean {
  return err instanceof EtcdLeaseInvalidError || (err instanceof Error && err.cause instanceof EtcdLeaseInvalidError);
}

export const bytes = (text: string): Buffer => Buffer.from(text);

/** Holds iff no key in [key, rangeEnd) exists (a missing key has version 0), or `key` is absent. */
export function absent(key: string, rangeEnd?: string): ICompare {
  return { key: bytes(key), ...(rangeEnd === undefined ? {} : { range_end: bytes(rangeEnd) }), target: "Version", result: "Equal", version: 0 };
}

export const revisionOf = (value: string): number => Number(value);

export function parse<T>(kv: IKeyValue): T | undefined {
  try {
    return JSON.parse(kv.value.toString()) as T;
  } catch {
    return undefined;
  }
}

/** The stored form of a key-value under one of the routing prefixes, or undefined if unreadable. */
export function decodeBinding(kv: IKeyValue): StoredBinding | undefined {
  const binding = parse<BindingRecord>(kv);
  return binding && { key: kv.key.toString(), revision: revisionOf(kv.mod_revision), binding };
}

export function decodeCloudEndpoint(kv: IKeyValue): StoredCloudEndpoint | undefined {
  const endpoint = parse<CloudEndpointRecord>(kv);
  return endpoint && { key: kv.key.toString(), revision: revisionOf(kv.mod_revision), endpoint };
}

export function decodeEdge(kv: IKeyValue): StoredEdge | undefined {
  const edge = parse<EdgeRecord>(kv);
  return edge && { key: kv.key.toString(), revision: revisionOf(kv.mod_revision), edge };
}

export function decodeAll<T>(range: IRangeResponse, decode: (kv: IKeyValue) => T | undefined): T[] {
  return range.kvs.map(decode).filter((v): v is T => v !== undefined);
}

export const prefixRange = (prefix: string) => ({ request_range: { key: bytes(prefix), range_end: bytes(prefixEnd(prefix)) } });

/** Edges, bindings and cloud endpoints in one transaction: all three at one revision. */
export async function readSnapshot(client: Etcd3, options: ResolvedEtcdRegistryOptions): Promise<RegistrySnapshot> {
  const res = await callEtcd(options, (o) => client.kv.txn({ success: [prefixRange(EDGES), prefixRange(BINDINGS), prefixRange(CLOUD_ENDPOINTS)] }, o));
  const [edges, bindings, cloud] = res.responses.map((r) => r.response_range);
  return {
    revision: revisionOf(res.header.revision),
    edges: decodeAll(edges!, decodeEdge),
    bindings: decodeAll(bindings!, decodeBinding),
    cloudEndpoints: decodeAll(cloud!, decodeCloudEndpoint),
  };
}

/**
 * The claim as one transaction: no binding under the host outside the range this binding may
 * share it with (keys.ts), and no cloud endpoint for the host; then the put, under the lease.
 * On a conflict the same transaction read what is there, so the message names what refused it.
 * Resolves with the revision of the write.
 */
export async function claimTxn(client: Etcd3, options: ResolvedEtcdRegistryOptions, binding: BindingRecord, leaseId: string): Promise<number> {
  const host = hostPrefix(binding.host);
  const [start, end] = compatibleRange(binding);
  const cloudKey = cloudEndpointKey(binding.host);
  const res = await callEtcd(options, (o) =>
    client.kv.txn(
      {
        compare: [absent(host, start), absent(end, prefixEnd(host)), absent(cloudKey)],
        success: [{ request_put: { key: bytes(bindingKey(binding)), value: bytes(JSON.stringify(binding)), lease: leaseId } }],
        failure: [prefixRange(host), { request_range: { key: bytes(cloudKey) } }],
      },
      o,
    ),
  );
  if (res.succeeded) return revisionOf(res.header.revision);
  const [held, cloud] = res.responses.map((r) => r.response_range);
  throw (
    bindConflict(binding, decodeAll(held!, decodeBinding), cloud!.kvs.length > 0) ??
    new OnrampError(ErrorCode.BindConflict, `${binding.url} is held by a binding this edge cannot read (under ${host})`)
  );
}

/** Defines a cloud endpoint unless agents hold bindings for its host; durable (no lease). */
export async function putCloudEndpointTxn(client: Etcd3, options: ResolvedEtcdRegistryOptions, endpoint: CloudEndpointRecord): Promise<StoredCloudEndpoint> {
  const host = hostPrefix(endpoint.host);
  const key = cloudEndpointKey(endpoint.host);
  const res = await callEtcd(options, (o) =>
    client.kv.txn(
      {
        compare: [absent(host, prefixEnd(host))],
        success: [{ request_put: { key: bytes(key), value: bytes(JSON.stringify(endpoint)) } }],
        failure: [prefixRange(host)],
      },
      o,
    ),
  );
  if (res.succeeded) return { key, revision: revisionOf(res.header.revision), endpoint: { ...endpoint } };
  throw (
    cloudEndpointConflict(endpoint.url, decodeAll(res.responses[0]!.response_range, decodeBinding)) ??
    new OnrampError(ErrorCode.BindConflict, `cannot define cloud endpoint ${endpoint.url}: agents hold it (bindings this edge cannot read)`)
  );
}

/** Deletes `key` only if it still holds what this edge wrote (its mod revision or its value). */
export async function deleteIfUnchanged(
  client: Etcd3,
  options: ResolvedEtcdRegistryOptions,
  key: string,
  unchanged: { revision: number } | { value: string },
): Promise<number | undefined> {
  const compare: ICompare =
    "revision" in unchanged
      ? { key: bytes(key), target: "Mod", result: "Equal", mod_revision: unchanged.revision }
      : { key: bytes(key), target: "Value", result: "Equal", value: bytes(unchanged.value) };
  const res = await callEtcd(options, (o) => client.kv.txn({ compare: [compare], success: [{ request_delete_range: { key: bytes(key) } }] }, o));
  return res.succeeded && Number(res.responses[0]!.response_delete_range.deleted) > 0 ? revisionOf(res.header.revision) : undefined;
}
