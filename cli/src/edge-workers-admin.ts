import { ErrorCode, ERROR_CODE_HEADER, headerValueOf, OnrampError } from "@onramp/errors";
import { parseHostPort } from "@onramp/edge";
import { aggregateMetrics } from "@onramp/telemetry";
import type { AddressInfo } from "node:net";
import { createServer, request, type Server, type ServerResponse } from "node:http";
import type { EdgeWorkers } from "./edge-workers.js";

/**
 * The admin port of `onramp edge --workers N`, served by the primary: `/metrics` adds up every
 * worker's metrics (one edge to Prometheus, however many workers); `/healthz`, `/api/endpoints`
 * and the rest come from the first ready worker, whose view of the mesh every worker shares.
 */
export function createWorkersAdminServer(workers: EdgeWorkers, draining: () => boolean): Server {
  return createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method !== "GET" && req.method !== "HEAD") return json(res, 405, { error: "method not allowed" }, ErrorCode.MethodNotAllowed);
    if (path === "/metrics") {
      workers
        .metrics()
        .then((snapshots) => aggregateMetrics(snapshots))
        .then(
          ({ text, contentType }) => {
            res.writeHead(200, { "content-type": contentType });
            res.end(text);
          },
          (err: Error) => json(res, 500, { error: err.message }, ErrorCode.Internal),
        );
      return;
    }
    const first = workers.workers().find((w) => w.addresses.admin !== undefined);
    if (path === "/healthz" && (draining() || !first)) return json(res, 503, { status: draining() ? "draining" : "starting", workers: workers.workers().length }, ErrorCode.EdgeDraining);
    if (!first) return json(res, 503, { error: "no edge worker is ready" }, ErrorCode.EdgeDraining);
    const [host, port] = splitHostPort(first.addresses.admin!);
    const upstream = request({ host, port, path: req.url, method: req.method, headers: { accept: req.headers.accept ?? "*/*" } }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on("error", (err) => json(res, 502, { error: `edge worker ${first.index} did not answer: ${err.message}` }, ErrorCode.Internal));
    upstream.end();
  });
}

/** Listens on `addr` (host:port) and resolves with the address bound; a taken port fails naming `flag`. */
export function listenAdmin(server: Server, addr: string, flag: string): Promise<string> {
  const { host, port } = parseHostPort(flag, addr);
  return new Promise((resolve, reject) => {
    server.once("error", (err: NodeJS.ErrnoException) => {
      const why = err.code === "EADDRINUSE" ? "the address is already in use" : err.message;
      reject(new OnrampError(ErrorCode.InvalidArgument, `cannot listen for admin on ${host}:${port} (${flag}): ${why}`, { cause: err }));
    });
    // Its own port, not one the cluster shares with the workers.
    server.listen({ port, host, exclusive: true }, () => {
      const a = server.address() as AddressInfo;
      resolve(`${a.family === "IPv6" ? `[${a.address}]` : a.address}:${a.port}`);
    });
  });
}

function splitHostPort(address: string): [string, number] {
  const i = address.lastIndexOf(":");
  return [address.slice(0, i).replace(/^\[|\]$/g, ""), Number(address.slice(i + 1))];
}

function json(res: ServerResponse, status: number, body: unknown, code: ErrorCode): void {
  if (res.headersSent) return void res.destroy();
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), [ERROR_CODE_HEADER]: headerValueOf(code) });
  res.end(text);
}
