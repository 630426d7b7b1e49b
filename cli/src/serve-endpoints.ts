import { AGENT_VERSION, combineObservers, createAgent, normalizeUpstream, type BindOptions } from "@onramp/agent";
import type { AgentSettings } from "./agent-flags.js";
import { localhostHint } from "./bind-url.js";
import { urlMemoryPath } from "./config-paths.js";
import { createStatusDescriber } from "./connection-messages.js";
import { startEmbeddedEdge, type EmbeddedEdge } from "./embedded-edge.js";
import { createHealthPrinter } from "./health-check-flags.js";
import { startInspection } from "./inspect-flags.js";
import { serveMetrics } from "./metrics-flags.js";
import { screenAwareLogger } from "./notice-logger.js";
import { onShutdown } from "./shutdown.js";
import { createStatusScreen, statusScreenWanted, type StatusScreen } from "./status-screen.js";
import { tracingFromEnv } from "./tracing-env.js";
import { openUrlMemory } from "./url-memory.js";

const warn = (line: string) => void process.stderr.write(line);

/**
 * Runs one agent for `onramp http` and `onramp start`: connects to the configured edges, or runs
 * the embedded edge when there are none, binds the endpoints, prints one `Forwarding` line per
 * endpoint on stdout (scripts read it; everything else goes to stderr), or shows them on the live
 * status screen when stdout is a terminal, and returns when the
 * agent stops: after SIGINT/SIGTERM, or with a fatal error (refused authtoken or bind).
 */
export async function serveEndpoints(settings: AgentSettings, endpoints: readonly BindOptions[]): Promise<void> {
  // On a terminal, the live status screen shows the Forwarding lines, statuses and notices (see status-screen.ts).
  const screen = statusScreenWanted(settings.statusScreen) ? createStatusScreen({ version: AGENT_VERSION }) : undefined;
  try {
    await serve(settings, endpoints, screen);
  } finally {
    // Before the caller prints a fatal error: on the alternate screen it would vanish.
    screen?.close();
  }
}

async function serve(settings: AgentSettings, endpoints: readonly BindOptions[], screen: StatusScreen | undefined): Promise<void> {
  // Loggers first: a --log file that cannot be opened is an error before anything listens.
  const logger = screenAwareLogger(settings.log, "agent", screen?.notice);
  const edgeLogger = settings.edges.length === 0 ? screenAwareLogger(settings.log, "edge", screen?.notice) : undefined;
  // Before the screen takes over and anything connects: a taken --metrics-addr is an error said plainly, naming the flag.
  const metricsServer = settings.metricsAddr ? await serveMetrics(settings.metricsAddr) : undefined;
  if (metricsServer && !screen) warn(`Metrics ${metricsServer.url}\n`);
  screen?.setMetricsUrl(metricsServer?.url);
  screen?.show();
  const tracing = tracingFromEnv("onramp-agent");
  const edgeTracing = edgeLogger ? tracingFromEnv("onramp-edge") : undefined;
  const embedded = edgeLogger ? await startEmbeddedEdge({ port: settings.embeddedPort, logger: edgeLogger, warn, tracing: edgeTracing }) : undefined;
  if (embedded) {
    warn(`onramp: no edge configured; running an embedded edge on http://127.0.0.1:${embedded.httpPort} (to use yours: --edge or onramp config add-edge)\n`);
  }
  // Before the agent, which takes its observer; after the embedded edge, whose taken port is the error to report first.
  const inspection = await startInspection(settings.inspect, warn);
  // On stderr: stdout carries only the Forwarding lines scripts read.
  if (inspection && !screen) warn(`Inspector ${inspection.url}\n`);
  screen?.setInspectorUrl(inspection?.url);
  const printHealth = createHealthPrinter();
  const describeStatus = createStatusDescriber();
  const agent = createAgent({
    edge: embedded ? [embedded.agentAddr] : [...settings.edges],
    authtoken: embedded ? embedded.authtoken : settings.authtoken,
    // The embedded edge is on loopback without a certificate: plaintext, whatever the settings say.
    edgeCa: embedded ? undefined : settings.edgeCa,
    insecureEdge: embedded ? false : settings.insecureEdge,
    agentId: settings.agentId,
    extraEdges: settings.extraEdges,
    upstreamTimeoutMs: settings.upstreamTimeoutMs,
    drainTimeoutMs: settings.drainTimeoutMs,
    healthCheck: settings.healthCheck,
    logger,
    tracing,
    observe: combineObservers([screen?.observe, inspection?.observe, metricsServer?.meter.observe]),
    onStatus: (s) => {
      screen?.onStatus(s);
      printHealth(s);
      metricsServer?.meter.onStatus(s);
      const line = describeStatus(s);
      if (line) warn(`${line}\n`);
    },
  });
  screen?.watchEdges(() => agent.edges());
  metricsServer?.meter.countSessionsOf(agent);
  onShutdown(async () => {
    screen?.stopping();
    await agent.close();
    await embedded?.edge.close();
    await inspection?.close();
    await metricsServer?.close();
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
    if (screen) screen.forwarding(printed, bound.upstream);
    else process.stdout.write(`Forwarding ${printed} -> ${bound.upstream}\n`);
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
