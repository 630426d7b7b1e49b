#!/usr/bin/env node
// Runs a pipenet client (the npm package installed under bench/.peers) exposing a local port,
// through its documented `pipenet()` API — the same code path as `pipenet client --port <n>
// --host <server> --subdomain <name> --local-host 127.0.0.1`.
//
//   node pipenet-client.mjs --peers <dir> --port <upstream port> --server http://127.0.0.1:<port> --subdomain bench
// Prints `pipenet-client url=<url>` once the server has assigned the tunnel.
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    peers: { type: "string" },
    port: { type: "string" },
    server: { type: "string" },
    subdomain: { type: "string", default: "bench" },
  },
});
const entry = join(values.peers ?? "", "node_modules/pipenet/dist/pipenet.js");
const { pipenet } = await import(pathToFileURL(entry).href);

const tunnel = await pipenet({
  port: Number(values.port),
  host: values.server,
  subdomain: values.subdomain,
  localHost: "127.0.0.1",
});
tunnel.on("error", (/** @type {Error} */ error) => process.stderr.write(`pipenet-client: ${error.message}\n`));
process.stdout.write(`pipenet-client url=${tunnel.url}\n`);

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => {
    tunnel.close();
    process.exit(0);
  });
}
