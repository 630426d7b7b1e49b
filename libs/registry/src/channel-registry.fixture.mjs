// A process at one end of a registry channel, for channel-registry.test.ts and the registry
// contract: `host` serves a store in this process (the primary of `onramp edge --workers N`);
// `worker` opens a channel registry to its parent (a worker). Runs the built package (dist/):
// build with `npx tsc -b` first.
import { createChannelRegistry, createMemoryControlStore, hostRegistryOnChannel, MemoryRegistryStore } from "@onramp/registry";
import { processChannel, serveCommands } from "../../../e2e/harness/ipc-fixture.mjs";

const channel = processChannel();
const role = process.argv[2];

if (role === "host") {
  let store = new MemoryRegistryStore();
  let host = hostRegistryOnChannel(store, channel);
  serveCommands({
    /** A fresh store, between tests. */
    async clear() {
      await host.close();
      store = new MemoryRegistryStore();
      host = hostRegistryOnChannel(store, channel);
    },
    bindings: () => [...store.bindings.keys()],
    edges: () => [...store.edges.values()].map((s) => s.edge.id),
    createAuthtoken: async ({ acl }) => (await createMemoryControlStore(store).createAuthtoken({ acl })).record,
    revokeAuthtoken: ({ id }) => createMemoryControlStore(store).revokeAuthtoken(id),
    closeHost: () => host.close(),
    /** Keeps this process from answering anything for `ms`: a primary stuck in a long GC. */
    stall({ ms }) {
      const until = performance.now() + ms;
      while (performance.now() < until);
    },
  });
} else if (role === "worker") {
  const registry = createChannelRegistry(channel);
  serveCommands({
    call: ({ method, args }) => registry[method](...args),
  });
} else {
  throw new Error(`role must be host or worker, got ${role}`);
}
