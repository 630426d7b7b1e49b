// node free-ports.mjs N: prints N distinct loopback TCP ports that were free, separated by spaces.
// All N are held open until the last is found, so none is handed out twice, and they are drawn
// from below the kernel's ephemeral range (net.ipv4.ip_local_port_range), which outgoing
// connections take ports from between now and the moment compose binds them.
import { readFileSync } from "node:fs";
import { createServer } from "node:net";

const count = Number(process.argv[2] ?? 1);
if (!Number.isInteger(count) || count < 1 || count > 100) {
  console.error(`free-ports: expected a count from 1 to 100, got ${process.argv[2]}`);
  process.exit(2);
}

function ephemeralLow() {
  try {
    return Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]) || 32768;
  } catch {
    return 32768; // not Linux: the IANA range starts at 49152, so this stays below either
  }
}

const high = ephemeralLow() - 1;
const low = Math.max(1024, high - 12_000);
const listen = (port) =>
  new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(undefined));
    server.listen(port, "127.0.0.1", () => resolve(server));
  });

const held = [];
for (let attempt = 0; held.length < count && attempt < 2_000; attempt++) {
  const port = low + Math.floor(Math.random() * (high - low + 1));
  if (held.some((s) => s.address().port === port)) continue;
  const server = await listen(port);
  if (server) held.push(server);
}
if (held.length < count) {
  console.error(`free-ports: found only ${held.length} of ${count} free ports in ${low}-${high}`);
  process.exit(1);
}
console.log(held.map((s) => s.address().port).join(" "));
await Promise.all(held.map((s) => new Promise((resolve) => s.close(resolve))));
