import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { WebSocketServer } from "ws";

export interface Upstream {
  server: Server;
  port: number;
  /** host:port, as `onramp http` takes it. */
  target: string;
  /** What GET /healthz answers: 200 while true, 503 while false. */
  health: { ok: boolean };
  close(): Promise<void>;
}

/**
 * The local service a user exposes, with the routes the e2e scenarios need:
 *   GET  /hello             small text
 *   *    /echo              method, path, headers and body as JSON
 *   GET  /bytes/:n          n bytes, streamed in 64 KiB chunks with Content-Length
 *   POST /sink              consumes the body, answers with its length
 *   GET  /chunked           three chunks, no Content-Length, with a trailer
 *   GET  /sse               three server-sent events, 50 ms apart
 *   GET  /slow/:ms          answers after ms milliseconds
 *   GET  /whoami            the name given to this upstream (for pools)
 *   GET  /healthz           200 "ok", or 503 while `health.ok` is false
 *   WS   /ws                echoes messages
 *   *    anything else      {upstream: name, method, path, headers} as JSON
 */
export async function startUpstream(name = "upstream"): Promise<Upstream> {
  const health = { ok: true };
  const server = createServer((req, res) => route(name, health, req, res));
  const wss = new WebSocketServer({ server, path: "/ws" });
  wss.on("connection", (ws) => ws.on("message", (data, binary) => ws.send(data, { binary })));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    target: `127.0.0.1:${port}`,
    health,
    close: () =>
      new Promise((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function route(name: string, health: { ok: boolean }, req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? "/", "http://upstream");
  const [, first, arg] = url.pathname.split("/");
  switch (first) {
    case "hello":
      res.setHeader("content-type", "text/plain");
      res.end("hello from upstream\n");
      return;
    case "obs-text":
      // Bytes above 0x7f in a header value (obs-text, RFC 9110 §5.5): Node writes a head as latin1,
      // unless it sends it together with a string body (then all of it as UTF-8): a Buffer body here.
      res.setHeader("X-Obs-Text", "caf\u00e9 \u00ff");
      res.end(Buffer.from("ok"));
      return;
    case "echo": {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ method: req.method, path: req.url, headers: req.headers, rawHeaders: req.rawHeaders, body: Buffer.concat(chunks).toString() }));
      });
      return;
    }
    case "bytes": {
      const total = Number(arg);
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": total });
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      let sent = 0;
      const pump = () => {
        while (sent < total) {
          const n = Math.min(chunk.length, total - sent);
          sent += n;
          if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void res.once("drain", pump);
        }
        res.end();
      };
      pump();
      return;
    }
    case "sink": {
      let n = 0;
      req.on("data", (c: Buffer) => (n += c.length));
      req.on("end", () => res.end(JSON.stringify({ received: n })));
      return;
    }
    case "chunked":
      res.writeHead(200, { "content-type": "text/plain", trailer: "x-checksum" });
      res.write("one,");
      setTimeout(() => res.write("two,"), 10);
      setTimeout(() => {
        res.addTrailers({ "x-checksum": "abc123" });
        res.end("three");
      }, 20);
      return;
    case "sse": {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
      let i = 0;
      const timer = setInterval(() => {
        res.write(`data: event ${++i}\n\n`);
        if (i === 3) {
          clearInterval(timer);
          res.end();
        }
      }, 50);
      req.on("close", () => clearInterval(timer));
      return;
    }
    case "slow":
      setTimeout(() => res.end(`slept ${arg}\n`), Number(arg));
      return;
    case "whoami":
      res.end(name);
      return;
    case "healthz":
      res.statusCode = health.ok ? 200 : 503;
      res.end(health.ok ? "ok" : "unhealthy");
      return;
    default:
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ upstream: name, method: req.method, path: req.url, headers: req.headers }));
  }
}
