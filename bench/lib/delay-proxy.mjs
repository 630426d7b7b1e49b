#!/usr/bin/env node
// A TCP proxy that adds latency, not a bandwidth limit: every chunk read from one side is written
// to the other `--delay-ms` later (in order), in both directions, so a 25 ms delay each way is a
// 50 ms round trip. Backpressure is honoured (a side that stops reading stops the other side's
// reads), but nothing else throttles the data: the link behaves like an uncongested long path.
//
//   node delay-proxy.mjs --target 127.0.0.1:4443 --delay-ms 25 [--listen-port 0]
// Prints `delay-proxy listening 127.0.0.1:<port>` on stdout once it accepts connections.
import { connect, createServer } from "node:net";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    target: { type: "string" },
    "delay-ms": { type: "string", default: "25" },
    "listen-port": { type: "string", default: "0" },
  },
});
const match = /^([^:]+):(\d+)$/.exec(values.target ?? "");
if (!match) {
  process.stderr.write("delay-proxy: --target host:port is required\n");
  process.exit(2);
}
const [, targetHost, targetPort] = match;
const delayMs = Number(values["delay-ms"]);

/**
 * Copies `from` to `to`, each chunk (and the final FIN) `delayMs` after it arrived.
 * @param {import("node:net").Socket} from
 * @param {import("node:net").Socket} to
 */
function pipeDelayed(from, to) {
  /** @type {{ due: number, chunk: Buffer | null }[]} null chunk = end of stream */
  let queue = [];
  let head = 0;
  /** @type {NodeJS.Timeout | undefined} */
  let timer;
  const schedule = () => {
    timer = setTimeout(flush, Math.max(0, queue[head].due - performance.now()));
  };
  const flush = () => {
    timer = undefined;
    // Half a millisecond of slack: timers fire late, never early by more than that.
    const now = performance.now() + 0.5;
    let writable = true;
    while (head < queue.length && queue[head].due <= now) {
      const { chunk } = queue[head++];
      if (chunk === null) to.end();
      else writable = to.write(chunk) && writable;
    }
    if (head === queue.length) {
      queue = [];
      head = 0;
    } else {
      schedule();
    }
    if (!writable && !from.isPaused()) {
      from.pause();
      to.once("drain", () => from.resume());
    }
  };
  const push = (/** @type {Buffer | null} */ chunk) => {
    queue.push({ due: performance.now() + delayMs, chunk });
    if (!timer) schedule();
  };
  from.on("data", push);
  from.on("end", () => push(null));
}

const server = createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
  const upstream = connect({ host: targetHost, port: Number(targetPort), allowHalfOpen: true, noDelay: true });
  const destroyBoth = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on("error", destroyBoth);
  upstream.on("error", destroyBoth);
  client.on("close", () => setTimeout(() => upstream.destroy(), delayMs + 5));
  upstream.on("close", () => setTimeout(() => client.destroy(), delayMs + 5));
  pipeDelayed(client, upstream);
  pipeDelayed(upstream, client);
});

server.listen(Number(values["listen-port"]), "127.0.0.1", () => {
  const { port } = /** @type {import("node:net").AddressInfo} */ (server.address());
  process.stdout.write(`delay-proxy listening 127.0.0.1:${port}\n`);
});

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => process.exit(0));
}
