import { createAgent, normalizeUpstream, type BindOptions } from "@onramp/agent";
import type { AgentSettings } from "./agent-flags.js";
import { localhostHint } from "./bind-url.js";
import { urlMemoryPath } from "./config-paths.js";
import { createStatusDescriber } from "./connection-messages.js";
import { startEmbeddedEdge, type EmbeddedEdge } from "./embedded-edge.js";
import { createHealthPrinter } from "./health-check-flags.js";
import { loggerFrom } from "./log-flags.js";
import { onShutdown } from "./shutdown.js";
import { tracingFromEnv } from "./tracing-env.js";
import { openUrlMemory } from "./url-memory.js";

const warn = (line: string) => void process.stderr.write(line);

/**
 * Runs one agent for `onramp http` and `onramp start`: connects to the configured edges, or runs
 * the embedded edge when there are none, binds the endpoints, prints one `Forwarding` line per
 * endpoint on stdout (scripts read it; everything else goes to stderr), and returns when the
 * agent stops: after SIGINT/SIGTERM, or with a fatal error (refused authtoken or bind).
 */
export async function serveEndpoints(settings: AgentSettings, endpoints: readonly BindOptions[]): Promise<void> {
  // Loggers first: a --log file that cannot be opened is an error before anything listens.
  const logger = loggerFrom(settings.log, "agent");
  const edgeLogger = settings.edges.length === 0 ? loggerFrom(settings.log, "edge") : undefined;
  const tracing = tracingFromEnv("onramp-agent");
  const edgeTracing = edgeLogger ? tracingFromEnv("onramp-edge") : undefined;
  const embedded = edgeLogger ? await startEmbeddedEdge({ port: settings.embeddedPort, logger: edgeLogger, warn, tracing: edgeTracing }) : undefined;
  if (embedded) {
    warn(`onramp: no edge configured; running an embedded edge on http://127.0.0.1:${embedded.httpPort} (to use yours: --edge or onramp config add-edge)\n`);
  }
  const printHealth = createHealthPrinter();
  const describeStatus = createStatusDescriber();
  const agent = createAgent({
    edge: embedded ? [embedded.agentAddr] : [...settings.edges],
    authtoken: embedded ? embedded.authtoken : settings.authtoken,
    agentId: settings.agentId,
    extraEdges: settings.extraEdges,
    upstreamTimeoutMs: settings.upstreamTimeoutMs,
    drainTimeoutMs: settings.drainTimeoutMs,
    healthCheck: settings.healthCheck,
    logger,
    tracing,
    onStatus: (s) => {
      printHealth(s);
      const line = describeStatus(s);
      if (line) warn(`${line}\n`);
    },
  });
  onShutdown(async () => {
    await agent.close();
    await embedded?.edge.close();
    await Promise.all([tracing?.shutdown(), edgeTracing?.shutdown()]);
  });
  await agent.start();
  const remembered = embedded ? rememberedUrls(embedded) : undefined;
  // A remembered name is not reused when another endpoint of this run has it (same upstream twice, or named by url).
  const taken = new Set(endpoints.flatMap((e) => (e.url ? [hostnameOf(e.url)] : [])));
  let hinted = false;
  for (const endpoint of endpoints) {
    const recalled = endpoint.url === undefined ? remembered?.recall(endpoint.upstream) : undefined;
    const url = endpoint.url ?? (recalled && !taken.has(hostnameOf(recalled)) ? recalled : undefined);
    const bound = await agent.bind({ ...endpoint, url });
    taken.add(hostnameOf(bound.url));
    const printed = bound.publicUrl;
    process.stdout.write(`Forwarding ${printed} -> ${bound.upstream}\n`);
    if (endpoint.url === undefined) remembered?.remember(endpoint.upstream, hostnameOf(bound.url));
    // One hint is enough to show the pattern, however many *.localhost endpoints there are.
    const hint = hinted ? undefined : localhostHint(printed);
    if (hint) {
      warn(`${hint}\n`);
      hinted = true;
    }
  }
  const fatal = await agent.stopped();
  if (fatal) throw fatal;
}

/** The embedded edge's random host names, kept per upstream across runs (see url-memory.ts). */
function rememberedUrls(embedded: EmbeddedEdge) {
  const memory = openUrlMemory(urlMemoryPath(), warn);
  const port = embedded.httpPort === 80 ? "" : `:${embedded.httpPort}`;
  return {
    recall(upstream: string): string | undefined {
      const host = memory.recall(normalizeUpstream(upstream));
      return host && `http://${host}${port}`;
    },
    remember(upstream: string, hostname: string): void {
      memory.remember(normalizeUpstream(upstream), hostname);
    },
  };
}

/** The host of an endpoint URL, wildcards (`*.example.com`) included, which URL() would not take. */
function hostnameOf(url: string): string {
  return (/^[a-z]+:\/\/([^/:]+)/i.exec(url)?.[1] ?? url).toLowerCase();
}
