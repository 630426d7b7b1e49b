// The origin every target forwards to. Run as its own process so it never shares an event loop
// with the harness or the load generator.
//
//   GET  /hello      13-byte body (the small-request case)
//   GET  /bytes/<n>  streams n bytes with Content-Length, in 64 KiB chunks, honouring backpressure
//   POST /sink       reads the body and replies with the byte count
//
// Prints `upstream listening 127.0.0.1:<port>` on stdout once it accepts connections.
import { createServer } from "node:http";

const HELLO = Buffer.from("Hello, world\n");
/** 64 KiB: large enough that per-chunk overhead vanishes, small enough to stay in L2. */
const CHUNK = Buffer.alloc(64 * 1024, 0x61);

const server = createServer((req, res) => {
  const url = req.url ?? "/";
  if (req.method === "GET" && url === "/hello") {
    res.writeHead(200, { "content-type": "text/plain", "content-length": HELLO.length });
    res.end(HELLO);
    return;
  }
  const bytes = /^\/bytes\/(\d+)$/.exec(url);
  if (req.method === "GET" && bytes) {
    sendBytes(res, Number(bytes[1]));
    return;
  }
  if (req.method === "POST" && url === "/sink") {
    let total = 0;
    req.on("data", (chunk) => (total += chunk.length));
    req.on("end", () => {
      const body = `${total}\n`;
      res.writeHead(200, { "content-type": "text/plain", "content-length": Buffer.byteLength(body) });
      res.end(body);
    });
    req.on("error", () => res.destroy());
    return;
  }
  req.resume();
  res.writeHead(404, { "content-length": 0 });
  res.end();
});

/** @param {import("node:http").ServerResponse} res @param {number} total */
function sendBytes(res, total) {
  res.writeHead(200, { "content-type": "application/octet-stream", "content-length": total });
  let left = total;
  const pump = () => {
    while (left > 0) {
      const n = Math.min(left, CHUNK.length);
      left -= n;
      if (!res.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) {
        res.once("drain", pump);
        return;
      }
    }
    res.end();
  };
  res.on("close", () => (left = 0));
  pump();
}

/** Keep idle client connections for the whole run: wrk and the proxies reuse them. */
server.keepAliveTimeout = 120_000;
server.headersTimeout = 130_000;
server.requestTimeout = 0;

server.listen(0, "127.0.0.1", () => {
  const { port } = /** @type {import("node:net").AddressInfo} */ (server.address());
  process.stdout.write(`upstream listening 127.0.0.1:${port}\n`);
});

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  });
}
