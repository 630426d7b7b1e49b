import { ErrorCode, OnrampError } from "@onramp/errors";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Agent as UndiciAgent } from "undici";
import type { ObserveExchange } from "../exchange-observer.js";
import { sendApiError } from "./api-replies.js";
import { ExchangeStore } from "./exchange-store.js";
import { resolveInspectorOptions, type InspectorOptions } from "./inspector-options.js";
import { servePage } from "./page-assets.js";
import { startReplay } from "./replay.js";
import { serveRequestsApi } from "./requests-api.js";

/** The local request inspector: keeps recent exchanges and serves them as a page and ngrok's agent API. */
export interface Inspector {
  /**
   * Records every exchange of endpoints whose `inspect` option is on. Give it to the agent
   * (`AgentOptions.observe`, through combineObservers when there are other observers).
   */
  readonly observe: ObserveExchange;
  /**
   * Serves the page and the API on host:port (port 0: any free one) and resolves with the page's
   * URL. Rejects with an INVALID_ARGUMENT OnrampError whose cause is the system's error (e.g.
   * EADDRINUSE), so a caller can try another port.
   */
  listen(host: string, port: number): Promise<string>;
  /** Stops serving, ends live pages and replays in flight; what was captured is dropped. */
  close(): Promise<void>;
}

export function createInspector(options: InspectorOptions = {}): Inspector {
  const settings = resolveInspectorOptions(options);
  const store = new ExchangeStore({ bodyBytes: settings.bodyBytes, maxRequests: settings.maxRequests, maxTotalBodyBytes: settings.maxTotalBodyBytes });
  // Replays only: bodies may idle (SSE, long polls), as the agent's own upstream pools allow.
  const dispatcher = new UndiciAgent({ bodyTimeout: 0 });
  let server: Server | undefined;
  let closed = false;

  const handle = async (req: IncomingMessage, res: ServerResponse, loopback: boolean) => {
    if (loopback && !isLoopbackHost(req.headers.host)) {
      // DNS rebinding: a site whose name points at 127.0.0.1 could otherwise read captured requests.
      return sendApiError(res, new OnrampError(ErrorCode.AccessDenied, `the inspector answers to localhost, 127.0.0.1 and [::1] only, not Host ${JSON.stringify(req.headers.host ?? "")}`));
    }
    const url = new URL(req.url ?? "/", "http://inspector");
    if (servePage(req, res, url.pathname)) return;
    const served = await serveRequestsApi(req, res, url, {
      store,
      replay: (original, edits, clientAddr) => startReplay(original, edits, { store, dispatcher, timeoutMs: settings.replayTimeoutMs, clientAddr }),
    });
    if (!served) sendApiError(res, new OnrampError(ErrorCode.NotFound, `nothing at ${url.pathname}; the API is under /api/requests/http`));
  };

  return {
    observe: (info) => (info.inspect ? store.begin(info).observer : undefined),
    async listen(host, port) {
      if (server) throw new OnrampError(ErrorCode.InvalidArgument, "the inspector is already listening");
      if (closed) throw new OnrampError(ErrorCode.InvalidArgument, "the inspector is closed");
      const loopback = isLoopbackAddress(host);
      const candidate = createServer((req, res) => {
        handle(req, res, loopback).catch((err: unknown) => {
          if (res.headersSent) return void res.destroy();
          sendApiError(res, OnrampError.from(err, ErrorCode.Internal));
        });
      });
      await new Promise<void>((resolve, reject) => {
        candidate.once("error", (err: NodeJS.ErrnoException) => {
          const why = err.code === "EADDRINUSE" ? "the address is already in use" : err.code === "EACCES" ? "permission denied" : err.code === "EADDRNOTAVAIL" ? "no such local address" : err.message;
          reject(new OnrampError(ErrorCode.InvalidArgument, `cannot listen on ${hostPort(host, port)}: ${why}`, { cause: err }));
        });
        candidate.listen(port, host, () => resolve());
      });
      server = candidate;
      const bound = (candidate.address() as AddressInfo).port;
      return `http://${hostPort(pageHost(host), bound)}`;
    },
    async close() {
      closed = true;
      const s = server;
      server = undefined;
      if (s) {
        const done = new Promise<void>((resolve) => s.close(() => resolve()));
        // Live pages hold their event streams open; they reconnect to a new agent by themselves.
        s.closeAllConnections();
        await done;
      }
      await dispatcher.destroy().catch(() => undefined);
      store.clear();
    },
  };
}

function isLoopbackAddress(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\./.test(host);
}

/** A Host header naming this machine's loopback: localhost (or a name under it), 127.x, [::1]; any port. */
function isLoopbackHost(host: string | undefined): boolean {
  const name = (host ?? "").replace(/:\d+$/, "").toLowerCase();
  return name === "localhost" || name.endsWith(".localhost") || name === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(name);
}

/** Where a browser reaches a listener on `host`: the wildcard addresses are reached on loopback. */
function pageHost(host: string): string {
  if (host === "0.0.0.0" || host === "") return "127.0.0.1";
  if (host === "::") return "::1";
  return host;
}

function hostPort(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
