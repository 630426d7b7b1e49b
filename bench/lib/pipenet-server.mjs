#!/usr/bin/env node
// Runs a pipenet server (the npm package installed under bench/.peers) on loopback only, in its
// single tunnel-port mode: clients register over HTTP, then open their 10 TCP sockets to one
// tunnel port. Written against pipenet's documented `createServer` API instead of its CLI so both
// ports can be loopback-only and the HTTP port random.
//
//   node pipenet-server.mjs --peers <dir> --domain pipenet.localhost [--advertise-port <n>]
// `--advertise-port` tells clients to dial that port instead of the real tunnel port (the harness
// puts a delay proxy there). Prints `pipenet-server http=127.0.0.1:<port> tunnel=127.0.0.1:<port>`.
import { createServer as createNetServer } from "node:net";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    peers: { type: "string" },
    domain: { type: "string", default: "pipenet.localhost" },
    "advertise-port": { type: "string" },
  },
});
const entry = join(values.peers ?? "", "node_modules/pipenet/dist/server/index.js");
const { createServer } = await import(pathToFileURL(entry).href);

const tunnelPort = await freePort();
const server = createServer({
  domains: [values.domain],
  /** pipenet's default: 10 TCP sockets per client. */
  maxTcpSockets: 10,
  tunnelPort: Number(values["advertise-port"]) || tunnelPort,
});
await server.tunnelServer.listen(tunnelPort, "127.0.0.1");
server.keepAliveTimeout = 120_000;
server.listen(0, "127.0.0.1", () => {
  const { port } = server.address();
  process.stdout.write(`pipenet-server http=127.0.0.1:${port} tunnel=127.0.0.1:${tunnelPort}\n`);
});

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => process.exit(0));
}

/**
 * pipenet's tunnel server takes a fixed port; ask the kernel for a free one. The port is free for
 * the few microseconds until the tunnel server binds it.
 * @returns {Promise<number>}
 */
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createNetServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = /** @type {import("node:net").AddressInfo} */ (probe.address());
      probe.close(() => resolve(port));
    });
  });
}
