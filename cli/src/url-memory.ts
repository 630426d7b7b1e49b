import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/**
 * The random host name the embedded edge last gave each upstream, so `onramp http 3000` run
 * again comes back under the same URL: bookmarks, OAuth callback settings and the other tab keep
 * working across restarts, as with ngrok's reserved domains. A JSON object in the state dir,
 * `{"http://localhost:3000": "k3xq9w2mzd.localhost"}`.
 *
 * It is a convenience: a file that cannot be read or written costs a warning, never the tunnel.
 */
export interface UrlMemory {
  /** The host name remembered for `upstream`, if any. */
  recall(upstream: string): string | undefined;
  remember(upstream: string, hostname: string): void;
}

/** Only names the embedded edge hands out are taken back: one label under `localhost`. */
const REMEMBERABLE = /^[a-z0-9-]{1,63}\.localhost$/;

export function openUrlMemory(path: string, warn: (line: string) => void): UrlMemory {
  return {
    recall(upstream) {
      const name = read(path, warn)[upstream];
      return typeof name === "string" && REMEMBERABLE.test(name) ? name : undefined;
    },
    remember(upstream, hostname) {
      if (!REMEMBERABLE.test(hostname)) return;
      // Read again before writing: another onramp process may have remembered something since.
      const urls = { ...read(path, warn), [upstream]: hostname };
      try {
        mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
        const temporary = `${path}.${process.pid}.tmp`;
        writeFileSync(temporary, `${JSON.stringify(urls, null, 2)}\n`, { mode: 0o600 });
        chmodSync(temporary, 0o600);
        renameSync(temporary, path);
      } catch (err) {
        warn(`onramp: cannot remember the URL in ${path} (${(err as Error).message}); the next run gets a new one\n`);
      }
    },
  };
}

function read(path: string, warn: (line: string) => void): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") warn(`onramp: cannot read ${path} (${(err as Error).message}); using a new URL\n`);
    return {};
  }
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // Reported below, like any other content that is not an object.
  }
  warn(`onramp: ignoring ${path}: it is not a JSON object of upstream → host name\n`);
  return {};
}
