import { request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from "node:http";
import { Readable } from "node:stream";

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface RequestSpec {
  /** Base URL of the edge's listener, e.g. http://127.0.0.1:41234 */
  base: string;
  /** Host header: which endpoint. */
  host: string;
  path?: string;
  method?: string;
  headers?: OutgoingHttpHeaders;
  body?: string | Buffer | Readable;
  /** Fails the request after this long (a hang is a failure, not a wait). */
  timeoutMs?: number;
}

/** One HTTP/1.1 request through the edge, with an explicit Host header (fetch forbids setting it). */
export function send(spec: RequestSpec): Promise<Reply> {
  const url = new URL(spec.path ?? "/", spec.base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        hostname: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method: spec.method ?? "GET",
        headers: { ...spec.headers, host: spec.host },
        agent: false,
        signal: AbortSignal.timeout(spec.timeoutMs ?? 15_000),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString() }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    if (spec.body instanceof Readable) spec.body.pipe(req);
    else req.end(spec.body);
  });
}

/** Polls until `check` passes or `timeoutMs` elapses; for state that settles asynchronously. */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 10_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
}
