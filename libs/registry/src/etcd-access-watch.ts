import type { Etcd3, IEvent } from "etcd3";
import { decodeAuthtoken, decodeDomain, readAccess } from "./etcd-control-kv.js";
import { watchKeys } from "./etcd-watch.js";
import type { ResolvedEtcdRegistryOptions } from "./etcd-options.js";
import type { AccessEvent } from "./control-store.js";
import { ACCESS, AUTHTOKENS, DOMAINS } from "./keys.js";
import type { RegistryWatch } from "./registry.js";

/**
 * The access watch: authtokens and reserved domains, listed and then followed (`watchKeys`).
 * Both live under `access/`, so etcd sends this watch nothing else.
 */
export function watchAccess(client: Etcd3, options: ResolvedEtcdRegistryOptions, handler: (event: AccessEvent) => void): RegistryWatch {
  return watchKeys<AccessEvent>(
    client,
    options,
    {
      name: "access watch",
      prefix: ACCESS,
      async list() {
        const snapshot = await readAccess(client, options);
        return { revision: snapshot.revision, reset: { kind: "reset", snapshot } };
      },
      toEvent: accessEvent,
    },
    handler,
  );
}

function accessEvent(ev: IEvent, revision: number): AccessEvent | undefined {
  const key = ev.kv.key.toString();
  const put = ev.type === "Put";
  if (key.startsWith(AUTHTOKENS)) return { kind: "authtoken", key, revision, value: put ? decodeAuthtoken(ev.kv) : undefined };
  if (key.startsWith(DOMAINS)) return { kind: "domain", key, revision, value: put ? decodeDomain(ev.kv) : undefined };
  return undefined;
}
