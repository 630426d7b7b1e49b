#!/usr/bin/env node
// Holds many idle onramp agent sessions from one process, for the edge-memory measurement: each
// session is a real agent (control stream + data connection) with one bound endpoint, exactly what
// `onramp http` holds, minus a process per agent.
//
//   node session-holder.mjs --agent-lib <services/agent/dist/index.js> --edge 127.0.0.1:<port> \
//     --authtoken T --upstream 127.0.0.1:<port> --sessions 1000
// Prints `held <n>` on stdout once every session is bound, then idles until SIGTERM.
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    "agent-lib": { type: "string" },
    edge: { type: "string" },
    authtoken: { type: "string" },
    upstream: { type: "string" },
    sessions: { type: "string", default: "1000" },
    concurrency: { type: "string", default: "20" },
  },
});
const { createAgent } = await import(pathToFileURL(values["agent-lib"] ?? "").href);
const total = Number(values.sessions);
const concurrency = Number(values.concurrency);

/** @type {any[]} */
const agents = [];
let next = 0;
const worker = async () => {
  while (next < total) {
    const i = next++;
    // As many data connections as the edge asks for, like a real agent.
    const agent = createAgent({ edge: values.edge, authtoken: values.authtoken });
    agents.push(agent);
    await agent.start();
    await agent.bind({ upstream: `http://${values.upstream}`, url: `http://s${i}.bench.localhost` });
  }
};
await Promise.all(Array.from({ length: concurrency }, worker));
process.stdout.write(`held ${agents.length}\n`);

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => process.exit(0));
}
// Idle until told to stop (the harness bounds how long that is).
setInterval(() => {}, 60_000);
