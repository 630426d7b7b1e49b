// A process at one end of a bus channel, for channel-bus.test.ts and the bus contract: `host`
// serves an in-process bus in this process (the primary of `onramp edge --workers N`); `worker`
// opens a channel bus to its parent (a worker). Runs the built packages (dist/): build with
// `npx tsc -b` first.
import { createChannelBus, createInProcessBus, hostBusOnChannel, InProcessBusHub } from "@onramp/mesh";
import { processChannel, serveCommands } from "../../../e2e/harness/ipc-fixture.mjs";

const channel = processChannel();
const role = process.argv[2];
const enc = (s) => new TextEncoder().encode(s);
const dec = (b) => new TextDecoder().decode(b);

if (role === "host") {
  const hub = new InProcessBusHub();
  const host = hostBusOnChannel(createInProcessBus(hub), channel);
  serveCommands({
    /** Subscriptions on the primary's bus: the ones this host made for its worker. */
    subscriptions: () => hub.subscriptions.size,
    closeHost: () => host.close(),
  });
} else if (role === "worker") {
  const bus = createChannelBus(channel);
  const received = new Map();
  const stops = new Map();
  serveCommands({
    /** Records what arrives on `subject`; answers requests with `re: <data>` when `echo`. */
    subscribe({ subject, echo }) {
      received.set(subject, []);
      stops.set(subject, bus.subscribe(subject, (m) => {
        received.get(subject).push(`${m.subject}=${dec(m.data)}`);
        if (echo) m.respond(enc(`re: ${dec(m.data)}`));
      }));
    },
    unsubscribe: ({ subject }) => stops.get(subject)(),
    received: ({ subject }) => received.get(subject),
    publish: ({ subject, text }) => bus.publish(subject, enc(text)),
    request: async ({ subject, text, timeoutMs }) => dec(await bus.request(subject, enc(text), timeoutMs)),
  });
} else {
  throw new Error(`role must be host or worker, got ${role}`);
}
