import { createServer, type Server } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { ErrorCode, OnrampError } from "@onramp/errors";
import { parseListenAddr, type RegistryApiOptions } from "./options.js";
import { createRegistryApi } from "./registry-api.js";

export interface RegistryApiServerOptions extends RegistryApiOptions {
  /** Where to listen: `host:port` (`127.0.0.1:4041`, `[::1]:4041`, `:4041` for every interface; port 0 picks one). */
  addr: string;
  /**
   * Serve HTTPS with this certificate (the file may carry the chain) and key, PEM text
   * (`--api-tls-cert`, `--api-tls-key`). Default none: plain HTTP, fit for loopback only, since
   * API keys travel in every request. A bad pair fails the start.
   */
  tls?: { cert: string; key: string };
}

export interface RegistryApiServer {
  /** Where it listens, with the port it got: `127.0.0.1:4041`. */
  readonly address: string;
  /** `http://` or `https://` and the address: what clients put in --api-url. */
  readonly url: string;
  /** Stops taking connections and resolves once the requests under way are answered. Does not close the store or the bus. */
  close(): Promise<void>;
}

/**
 * A request that takes longer than this, headers and body, is cut off: a 1 MiB body needs only
 * 35 KB/s to arrive in time, and a client that stalls does not hold a socket for Node's 5 minutes.
 */
const REQUEST_TIMEOUT_MS = 30_000;
/** How long `close()` lets requests under way finish (a store call times out in 5 s) before cutting them off. */
const CLOSE_GRACE_MS = 10_000;

/** The registry API on a server of its own. Bootstrap keys are stored before it listens, so the first request with one succeeds. */
export async function startRegistryApiServer(options: RegistryApiServerOptions): Promise<RegistryApiServer> {
  const { host, port } = parseListenAddr(options.addr);
  const api = createRegistryApi(options);
  let server: Server;
  try {
    server = options.tls
      ? createHttpsServer({ requestTimeout: REQUEST_TIMEOUT_MS, cert: options.tls.cert, key: options.tls.key }, (req, res) => api.handle(req, res))
      : createServer({ requestTimeout: REQUEST_TIMEOUT_MS }, (req, res) => api.handle(req, res));
  } catch (err) {
    api.close();
    throw new OnrampError(ErrorCode.InvalidArgument, `registry API option tls: the certificate and key do not make a TLS server (${(err as Error).message})`, { cause: err });
  }
  try {
    await api.ready();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (err) {
    api.close();
    throw err;
  }
  const bound = server.address() as AddressInfo;
  let closing: Promise<void> | undefined;
  const address = bound.family === "IPv6" ? `[${bound.address}]:${bound.port}` : `${bound.address}:${bound.port}`;
  return {
    address,
    url: `${options.tls ? "https" : "http"}://${address}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
        server.close(() => {
          clearTimeout(force);
          api.close();
          resolve();
        });
        server.closeIdleConnections();
      });
      return closing;
    },
  };
}
