import { hashSecret } from "./control-secrets.js";
import type { AccessEvent } from "./control-store.js";
import type { AuthtokenRecord, ReservedDomainRecord } from "./records.js";

/**
 * What an edge admits agents and binds by, kept from `ControlStore.watchAccess`: authtokens by
 * the hash of their secret, reserved domains by name. A session hello hashes the secret it is
 * given and looks it up here, with no etcd round trip; a revoked token is gone from the index as
 * soon as its delete event arrives.
 *
 * Looking a hash up in a Map is not constant-time, and need not be: what a timing difference could
 * reveal is part of the SHA-256 of a guess, which brings an attacker no closer to a secret.
 */
export class AccessIndex {
  private readonly byHash = new Map<string, AuthtokenRecord>();
  /** Key → hash, to find the entry a delete event (which carries only the key) removes. */
  private readonly hashByKey = new Map<string, string>();
  private readonly domainsByKey = new Map<string, ReservedDomainRecord>();
  private readonly domainsByName = new Map<string, ReservedDomainRecord>();
  /** `reservedNames()`, built on first use after a change: binds are many, reservations change rarely. */
  private names: string[] | undefined;
  /** The revision of the last event applied; 0 before the first `reset`. */
  revision = 0;

  /** Pass it as the `watchAccess` handler: `store.watchAccess((e) => index.apply(e))`. */
  apply(event: AccessEvent): void {
    if (event.kind !== "authtoken") this.names = undefined;
    if (event.kind === "reset") {
      this.byHash.clear();
      this.hashByKey.clear();
      this.domainsByKey.clear();
      this.domainsByName.clear();
      for (const s of event.snapshot.authtokens) this.setAuthtoken(s.key, s.authtoken);
      for (const s of event.snapshot.domains) this.setDomain(s.key, s.domain);
      this.revision = event.snapshot.revision;
      return;
    }
    if (event.kind === "authtoken") {
      this.deleteAuthtoken(event.key);
      if (event.value) this.setAuthtoken(event.key, event.value.authtoken);
    } else {
      this.deleteDomain(event.key);
      if (event.value) this.setDomain(event.key, event.value.domain);
    }
    this.revision = event.revision;
  }

  /** The token whose secret an agent presented, or undefined (unknown or revoked). */
  authtokenFor(secret: string): AuthtokenRecord | undefined {
    return secret ? this.byHash.get(hashSecret(secret)) : undefined;
  }

  /** The reservation of exactly `name` (a host or a wildcard), if any. */
  reservation(name: string): ReservedDomainRecord | undefined {
    return this.domainsByName.get(name);
  }

  /** Every reserved name, for acl.ts's `reservedBy` (which decides what a reservation covers). */
  reservedNames(): readonly string[] {
    this.names ??= [...this.domainsByName.keys()];
    return this.names;
  }

  get authtokenCount(): number {
    return this.byHash.size;
  }

  private setAuthtoken(key: string, record: AuthtokenRecord): void {
    this.byHash.set(record.token_hash, record);
    this.hashByKey.set(key, record.token_hash);
  }

  private deleteAuthtoken(key: string): void {
    const hash = this.hashByKey.get(key);
    if (hash === undefined) return;
    this.hashByKey.delete(key);
    this.byHash.delete(hash);
  }

  private setDomain(key: string, record: ReservedDomainRecord): void {
    this.domainsByKey.set(key, record);
    this.domainsByName.set(record.name, record);
  }

  private deleteDomain(key: string): void {
    const record = this.domainsByKey.get(key);
    if (!record) return;
    this.domainsByKey.delete(key);
    this.domainsByName.delete(record.name);
  }
}
