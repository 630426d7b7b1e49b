import { createAgent, normalizeUpstream } from "@onramp/agent";
import { createEdge, type Edge } from "@onramp/edge";
import { createLogger, type LogLevel } from "@onramp/telemetry";
import type { Command } from "commander";
import { randomBytes } from "node:crypto";
import { readTextFile } from "../config-file.js";
import { addHealthCheckFlags, createHealthPrinter, healthCheckOptions, type HealthCheckFlags } from "../health-check-flags.js";
import { onShutdown } from "../shutdown.js";
import { parseDuration, parsePoolWeight } from "../units.js";

interface HttpFlags extends HealthCheckFlags {
  url?: string;
  poolingEnabled?: boolean;
  poolWeight?: string;
  edge?: string[];
  authtoken?: string;
  upstreamTimeout?: string;
  drainTimeout?: string;
  trafficPolicyFile?: string;
  agentId?: string;
  extraEdges?: string;
  logLevel?: LogLevel;
}

export function registerHttpCommand(program: Command): void {
  const command = program
    .command("http")
    .description("expose a local HTTP service; with no --edge, an embedded edge runs in-process on loopback")
    .argument("<upstream>", "port, host:port or URL of the local service, e.g. 3000")
    .option("--url <url>", "URL to bind, e.g. http://app.example.com (default: a random URL from the edge)")
    .option("--pooling-enabled", "share the URL with other agents binding it with pooling enabled")
    .option("--pool-weight <n>", "this agent's share of the pool's traffic relative to the other members, 1-1000 (default 1)")
    .option("--edge <host:port...>", "edge agent address(es); repeat or comma-separate: the agent holds a session with each and serves through the others while one is down")
    .option("--extra-edges <n>", "also hold sessions with up to n other edges of the mesh that the edges name (default 0)")
    .option("--agent-id <id>", "stable id of this agent (default: random per process); a restarted agent with the same id replaces its own stale binds")
    .option("--authtoken <token>", "authtoken for the edge")
    .option("--upstream-timeout <duration>", "time the upstream has to start answering before a 504 (default 60s; 0 disables)")
    .option("--drain-timeout <duration>", "time in-flight requests get on shutdown (default 30s)")
    .option("--traffic-policy-file <file>", "traffic policy (YAML or JSON) the edge applies to this endpoint")
    .option("--log-level <level>", "trace, debug, info, warn, error or silent (default warn)");
  addHealthCheckFlags(command)
    .action(async (target: string, flags: HttpFlags) => {
      const logger = createLogger({ level: flags.logLevel ?? "warn", name: "agent" });
      const upstream = normalizeUpstream(target);
      const upstreamTimeoutMs = flags.upstreamTimeout === undefined ? undefined : parseDuration("--upstream-timeout", flags.upstreamTimeout);
      const trafficPolicy = flags.trafficPolicyFile ? readTextFile(flags.trafficPolicyFile, "--traffic-policy-file") : undefined;
      const drainTimeoutMs = flags.drainTimeout === undefined ? 30_000 : parseDuration("--drain-timeout", flags.drainTimeout);
      const healthCheck = healthCheckOptions(flags);
      const poolWeight = flags.poolWeight === undefined ? undefined : parsePoolWeight(flags.poolWeight, "--pool-weight");

      let embedded: Edge | undefined;
      let edges = ([] as string[]).concat(flags.edge ?? []).flatMap((e) => e.split(",")).filter(Boolean);
      let authtoken = flags.authtoken;
      if (edges.length === 0) {
        authtoken = randomBytes(24).toString("base64url");
        embedded = createEdge({
          httpAddr: "127.0.0.1:0",
          grpcAddr: "127.0.0.1:0",
          adminAddr: "",
          domain: "localhost",
          authtokens: [authtoken],
          logger: createLogger({ level: flags.logLevel ?? "warn", name: "edge" }),
        });
        const addresses = await embedded.start();
        edges = [addresses.agent];
        process.stderr.write(`onramp: no --edge given; embedded edge listening on http://${addresses.http}\n`);
      }

      const lost = new Set<string>();
      const printHealth = createHealthPrinter();
      const agent = createAgent({
        edge: edges,
        authtoken,
        upstreamTimeoutMs,
        drainTimeoutMs,
        agentId: flags.agentId,
        extraEdges: flags.extraEdges === undefined ? undefined : Number(flags.extraEdges),
        healthCheck,
        logger,
        onStatus: (s) => {
          printHealth(s);
          if (s.kind === "disconnected") {
            lost.add(s.edge);
            process.stderr.write(`onramp: lost ${s.edge} (${s.error.message}); retrying in ${s.retryInMs} ms\n`);
          }
          if (s.kind === "connected" && lost.delete(s.edge)) process.stderr.write(`onramp: reconnected to ${s.edge}\n`);
        },
      });
      onShutdown(async () => {
        await agent.close();
        await embedded?.close();
      });
      await agent.start();
      const endpoint = await agent.bind({ upstream, url: flags.url, poolingEnabled: flags.poolingEnabled ?? false, poolWeight, trafficPolicy });
      process.stdout.write(`Forwarding ${endpoint.url} -> ${endpoint.upstream}\n`);

      const fatal = await agent.stopped();
      if (fatal) throw fatal;
    });
}
