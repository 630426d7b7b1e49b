import { ErrorCode, OnrampError } from "@onramp/errors";
import { ChannelClient, resolveRequestTimeout, type ChannelOptions } from "./channel-client.js";
import { ChannelWatches } from "./channel-watches.js";
import { fromChannelError, REGISTRY_TAG, type ChannelError, type ProcessChannel } from "./process-channel.js";
import type { RegistrySnapshot, StoredCloudEndpoint } from "./records.js";
import type { BindingClaim, Registry, RegistryEvent } from "./registry.js";

export type ChannelRegistryOptions = ChannelOptions;

/**
 * A registry in a worker process (`onramp edge --workers N` without etcd): every call goes over
 * `channel` to the primary's embedded registry (`hostRegistryOnChannel`), where the workers'
 * claims meet and conflicts are decided. Errors keep their code and message across (a
 * BIND_CONFLICT stays one); a call fails with REGISTRY_UNAVAILABLE once the channel has closed,
 * or when the primary does not answer within `requestTimeoutMs`. What this handle wrote lives
 * as long as it does in the primary: its `close()`, or the worker's death, takes it all away.
 */
export function createChannelRegistry(channel: ProcessChannel, options: ChannelRegistryOptions = {}): Registry {
  const timeoutMs = resolveRequestTimeout(options, "channel registry");
  const watches = new ChannelWatches<RegistryEvent>(() => client, "watch");
  let closing: Promise<void> | undefined;

  const client: ChannelClient = new ChannelClient({
    tag: REGISTRY_TAG,
    channel,
    timeoutMs,
    what: "the registry in the primary process",
    onPush(message) {
      if (watches.deliver(message)) return;
      if (message.lost !== undefined) registry.onLostBinding?.(message.lost as BindingClaim, fromChannelError(message.error as ChannelError));
    },
    onGone: (why) => watches.fail(why),
    // A claim that timed out here but went through there: nobody knows of it, so nobody would
    // release it, and the URL would stay refused to every other agent while this edge lives.
    onLateReply(method, value) {
      if (method === "claimBinding") void registry.releaseBinding(value as BindingClaim);
    },
  });

  const call = <T>(method: string, ...args: unknown[]): Promise<T> => {
    if (closing) return Promise.reject(new OnrampError(ErrorCode.RegistryUnavailable, "the registry is closed"));
    return client.call(method, args) as Promise<T>;
  };

  const registry: Registry = {
    onLostBinding: undefined,
    registerEdge: (edge) => call("registerEdge", edge),
    claimBinding: (binding) => call<BindingClaim>("claimBinding", binding),
    // Never rejects: a binding that cannot be released now goes with this handle.
    releaseBinding: (claim) => call<number | undefined>("releaseBinding", claim).catch(() => undefined),
    putSession: (session) => call("putSession", session),
    deleteSession: (edge, id) => call("deleteSession", edge, id),
    putCloudEndpoint: (endpoint) => call<StoredCloudEndpoint>("putCloudEndpoint", endpoint),
    deleteCloudEndpoint: (host) => call("deleteCloudEndpoint", host),
    snapshot: () => call<RegistrySnapshot>("snapshot"),
    watch: (handler) => watches.open(handler),
    close() {
      closing ??= (async () => {
        // The primary closes the handle's watches and revokes what it wrote; if it is gone, so is all that.
        if (client.open) await client.call("close", []).catch(() => undefined);
        client.dispose("the registry is closed");
      })();
      return closing;
    },
  };
  return registry;
}
