import { ChannelClient, resolveRequestTimeout, type ChannelOptions } from "./channel-client.js";
import { ChannelWatches } from "./channel-watches.js";
import type { AccessEvent, ControlStore } from "./control-store.js";
import { ACCESS_TAG, type ProcessChannel } from "./process-channel.js";

/** What an edge follows authtokens and reserved domains through (services/edge's `AccessSource`). */
export type ChannelAccessSource = Pick<ControlStore, "watchAccess" | "close">;

/**
 * Authtokens and reserved domains in a worker process, followed over `channel` from the
 * primary's embedded store (`hostRegistryOnChannel`): a token created or revoked through the
 * primary's API reaches every worker's edge as an event, as an etcd watch would bring it.
 */
export function createChannelAccessSource(channel: ProcessChannel, options: ChannelOptions = {}): ChannelAccessSource {
  const timeoutMs = resolveRequestTimeout(options, "channel access source");
  const watches = new ChannelWatches<AccessEvent>(() => client, "watchAccess");
  let closing: Promise<void> | undefined;
  const client: ChannelClient = new ChannelClient({
    tag: ACCESS_TAG,
    channel,
    timeoutMs,
    what: "the access store in the primary process",
    onPush: (message) => void watches.deliver(message),
    onGone: (why) => watches.fail(why),
  });
  return {
    watchAccess: (handler) => watches.open(handler),
    close() {
      closing ??= (async () => {
        if (client.open) await client.call("close", []).catch(() => undefined);
        client.dispose("the access source is closed");
      })();
      return closing;
    },
  };
}
