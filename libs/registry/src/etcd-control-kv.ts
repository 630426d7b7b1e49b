import type { Etcd3, IKeyValue } from "etcd3";
import { encodeCursor, type ResolvedPageRequest } from "./control-input.js";
import type { Page } from "./control-store.js";
import { absent, bytes, callEtcd, decodeAll, parse, prefixRange, revisionOf } from "./etcd-kv.js";
import type { ResolvedEtcdRegistryOptions } from "./etcd-options.js";
import { AUTHTOKENS, DOMAINS, prefixEnd } from "./keys.js";
import type { AccessSnapshot, AuthtokenRecord, ReservedDomainRecord, StoredAuthtoken, StoredReservedDomain } from "./records.js";

/** The etcd calls of the control store: durable keys (no lease), single-key transactions. */

export async function readKey(client: Etcd3, options: ResolvedEtcdRegistryOptions, key: string): Promise<IKeyValue | undefined> {
  const res = await callEtcd(options, (o) => client.kv.range({ key: bytes(key) }, o));
  return res.kvs[0];
}

/** Every key under `prefix`, in one response (at one revision). */
export async function readPrefix(client: Etcd3, options: ResolvedEtcdRegistryOptions, prefix: string): Promise<IKeyValue[]> {
  const res = await callEtcd(options, (o) => client.kv.range({ key: bytes(prefix), range_end: bytes(prefixEnd(prefix)) }, o));
  return res.kvs;
}

/**
 * One page of the keys under `prefix`, in key order, starting right after `page.after`. The
 * cursor is the last key read, decodable or not, so an unreadable value cannot stall a listing.
 */
export async function readPage<T>(
  client: Etcd3,
  options: ResolvedEtcdRegistryOptions,
  prefix: string,
  page: ResolvedPageRequest,
  decode: (kv: IKeyValue) => T | undefined,
): Promise<Page<T>> {
  // The smallest key after `after`: `after` followed by a NUL byte.
  const start = page.after === undefined ? prefix : `${page.after}\0`;
  const res = await callEtcd(options, (o) => client.kv.range({ key: bytes(start), range_end: bytes(prefixEnd(prefix)), limit: page.limit }, o));
  const last = res.kvs[res.kvs.length - 1];
  return { items: decodeAll(res, decode), next_cursor: res.more && last ? encodeCursor(last.key.toString()) : undefined };
}

/** Writes `key` unless it exists; resolves with the revision of the write, or undefined when it existed. */
export async function createKey(client: Etcd3, options: ResolvedEtcdRegistryOptions, key: string, value: string): Promise<number | undefined> {
  const res = await callEtcd(options, (o) =>
    client.kv.txn({ compare: [absent(key)], success: [{ request_put: { key: bytes(key), value: bytes(value) } }] }, o),
  );
  return res.succeeded ? revisionOf(res.header.revision) : undefined;
}

/**
 * Writes `key` only if it was last written at `modRevision` (the read this value was computed
 * from); undefined when another write came first or the key was deleted.
 */
export async function replaceKey(
  client: Etcd3,
  options: ResolvedEtcdRegistryOptions,
  key: string,
  value: string,
  modRevision: number,
): Promise<number | undefined> {
  const res = await callEtcd(options, (o) =>
    client.kv.txn(
      {
        compare: [{ key: bytes(key), target: "Mod", result: "Equal", mod_revision: modRevision }],
        success: [{ request_put: { key: bytes(key), value: bytes(value) } }],
      },
      o,
    ),
  );
  return res.succeeded ? revisionOf(res.header.revision) : undefined;
}

/** Deletes `key`; false when there was none. */
export async function deleteKey(client: Etcd3, options: ResolvedEtcdRegistryOptions, key: string): Promise<boolean> {
  const res = await callEtcd(options, (o) => client.kv.deleteRange({ key: bytes(key) }, o));
  return Number(res.deleted) > 0;
}

export function decodeAuthtoken(kv: IKeyValue): StoredAuthtoken | undefined {
  const authtoken = parse<AuthtokenRecord>(kv);
  return authtoken && { key: kv.key.toString(), revision: revisionOf(kv.mod_revision), authtoken };
}

export function decodeDomain(kv: IKeyValue): StoredReservedDomain | undefined {
  const domain = parse<ReservedDomainRecord>(kv);
  return domain && { key: kv.key.toString(), revision: revisionOf(kv.mod_revision), domain };
}

/** Authtokens and reserved domains in one transaction: both at one revision. */
export async function readAccess(client: Etcd3, options: ResolvedEtcdRegistryOptions): Promise<AccessSnapshot> {
  const res = await callEtcd(options, (o) => client.kv.txn({ success: [prefixRange(AUTHTOKENS), prefixRange(DOMAINS)] }, o));
  const [authtokens, domains] = res.responses.map((r) => r.response_range);
  return { revision: revisionOf(res.header.revision), authtokens: decodeAll(authtokens!, decodeAuthtoken), domains: decodeAll(domains!, decodeDomain) };
}
