import { createEdge, type Edge } from "@onramp/edge";
import { ErrorCode, OnrampError } from "@onramp/errors";
import type { Logger, Tracing } from "@onramp/telemetry";
import { randomBytes } from "node:crypto";

/**
 * 8080, the port `onramp edge` listens on too: a fixed port keeps URLs the same across runs
 * (with the remembered host name, see url-memory.ts), where a random one changed every time.
 */
export const EMBEDDED_EDGE_PORT = 8080;

/** Ports tried after the default when it is taken: 8080 is popular with dev servers, 8081–8100 less so. */
const FALLBACK_PORTS = 20;

export interface EmbeddedEdge {
  edge: Edge;
  /** The agent address to dial: a random loopback port, since nothing outside this process uses it. */
  agentAddr: string;
  /** The token the edge was made to accept; random, as only this process knows it. */
  authtoken: string;
  httpPort: number;
}

/**
 * Runs an edge in this process, on loopback only, for `onramp http` with no edge configured.
 * `port` given (a flag or ONRAMP_PORT) is used or the start fails: the user asked for it. Without
 * it, 8080 or the next free port up to 8100, and a stderr line says which when it is not 8080.
 * `0` asks the system for any free port.
 */
export async function startEmbeddedEdge(options: { port: number | undefined; logger: Logger; warn: (line: string) => void; tracing: Tracing | undefined }): Promise<EmbeddedEdge> {
  const authtoken = randomBytes(24).toString("base64url");
  const candidates = options.port !== undefined ? [options.port] : Array.from({ length: FALLBACK_PORTS + 1 }, (_, i) => EMBEDDED_EDGE_PORT + i);
  for (const port of candidates) {
    const edge = createEdge({
      httpAddr: `127.0.0.1:${port}`,
      grpcAddr: "127.0.0.1:0",
      adminAddr: "",
      domain: "localhost",
      authtokens: [authtoken],
      logger: options.logger,
      tracing: options.tracing,
    });
    try {
      const addresses = await edge.start();
      const httpPort = Number(addresses.http.split(":").pop());
      if (options.port === undefined && httpPort !== EMBEDDED_EDGE_PORT) {
        options.warn(`onramp: port ${EMBEDDED_EDGE_PORT} is in use; the embedded edge listens on ${httpPort}\n`);
      }
      return { edge, agentAddr: addresses.agent, authtoken, httpPort };
    } catch (err) {
      await edge.close();
      if (!inUse(err)) throw err;
      if (options.port !== undefined) {
        throw new OnrampError(ErrorCode.InvalidArgument, `port ${port} is in use; choose another with --port, or leave --port out to use the first free one from ${EMBEDDED_EDGE_PORT}`, { cause: err });
      }
    }
  }
  const last = EMBEDDED_EDGE_PORT + FALLBACK_PORTS;
  throw new OnrampError(ErrorCode.InvalidArgument, `ports ${EMBEDDED_EDGE_PORT}-${last} are all in use; choose a free one with --port (0 for any)`);
}

function inUse(err: unknown): boolean {
  return (err as { cause?: NodeJS.ErrnoException }).cause?.code === "EADDRINUSE";
}
