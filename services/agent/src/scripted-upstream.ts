import { EventEmitter } from "node:events";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { createServer as createNetServer, type AddressInfo } from "node:net";

/** A request as the upstream saw it. */
export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** Set when the exchange ended: answered, or its client gave up on it. */
  closed: boolean;
}

/**
 * A loopback HTTP upstream for this package's health-check tests (not exported from the package).
 * Every request gets the next status of `script` while it lasts, then `status`; with `hang` set it
 * gets no answer at all. It records what it received and answered, and `until` waits on that.
 */
export class ScriptedUpstream {
  status = 200;
  script: number[] = [];
  hang = false;
  readonly requests: SeenRequest[] = [];
  /** The status of each answered request, in order. */
  readonly answered: number[] = [];
  private readonly changes = new EventEmitter();
  private readonly server: Server;

  private constructor() {
    this.changes.setMaxListeners(0);
    this.server = createServer((req, res) => {
      const seen: SeenRequest = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, closed: false };
      this.requests.push(seen);
      res.once("close", () => {
        seen.closed = true;
        this.changes.emit("change");
      });
      if (!this.hang) {
        const status = this.script.shift() ?? this.status;
        this.answered.push(status);
        res.writeHead(status).end();
      }
      this.changes.emit("change");
    });
  }

  static async start(): Promise<ScriptedUpstream> {
    const upstream = new ScriptedUpstream();
    await new Promise<void>((resolve, reject) => {
      upstream.server.once("error", reject);
      upstream.server.listen(0, "127.0.0.1", () => resolve());
    });
    return upstream;
  }

  /** e.g. http://127.0.0.1:40123 */
  get origin(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Resolves once `condition` holds, checked at every request and every closed exchange; rejects naming `what` after `timeoutMs`. */
  until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!condition()) return;
        clearTimeout(timer);
        this.changes.off("change", check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.changes.off("change", check);
        reject(new Error(`upstream ${this.origin}: timed out waiting for ${what}`));
      }, timeoutMs);
      this.changes.on("change", check);
      check();
    });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** A loopback port nothing listens on: connecting to it is refused at once. */
export async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
