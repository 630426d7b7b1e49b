import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A pool member's upstream for the drills: like a real API it answers every request after
 * `delayMs` (50 ms: at 200 requests/s about ten are in flight when a drill strikes), with
 * `{"name", "method", "bytes"}`. The test turns it bad: `failWith(500)` answers every request
 * but `/healthz` with that status (a broken dependency behind a server that still accepts
 * connections), `crash()` closes the listener and every connection at once, in-flight requests
 * included, as when the process dies.
 */
export interface DrillUpstream {
  name: string;
  /** host:port, as `onramp http` takes it. */
  target: string;
  /** Requests answered 2xx; a drill checks its victim carried traffic. */
  served(): number;
  failWith(status: number | undefined): void;
  crash(): Promise<void>;
}

export async function startDrillUpstream(name: string, delayMs = 50): Promise<DrillUpstream> {
  let failStatus: number | undefined;
  let served = 0;
  const pending = new Set<NodeJS.Timeout>();
  const server = createServer((req, res) => {
    let bytes = 0;
    req.on("data", (chunk: Buffer) => (bytes += chunk.length));
    req.on("end", () => {
      if (req.url === "/healthz") return answer(res, 200, { name });
      const timer = setTimeout(() => {
        pending.delete(timer);
        if (failStatus !== undefined) return answer(res, failStatus, { name, error: "failing on purpose" });
        served++;
        answer(res, 200, { name, method: req.method, bytes });
      }, delayMs);
      pending.add(timer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    name,
    target: `127.0.0.1:${port}`,
    served: () => served,
    failWith: (status) => (failStatus = status),
    crash: async () => {
      for (const timer of pending) clearTimeout(timer);
      pending.clear();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

function answer(res: ServerResponse, status: number, body: object): void {
  if (res.destroyed) return;
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}
