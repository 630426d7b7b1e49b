import type { MuxConnection } from "@onramp/mux";
import { silentLogger, type Logger } from "@onramp/telemetry";
import type { AddressInfo, Server } from "node:net";
import { createAgentListener } from "./agent-listener.js";
import type { AgentSession } from "./agent-session.js";
import type { ClusterPeerCheck } from "./cluster-tls.js";
import { acceptRelayConnection } from "./relay-server.js";
import type { CertificateStore } from "./tls-certificates.js";

/**
 * For tests: an agent port on loopback that takes relay connections for edge "b" (cluster secret
 * `secret`) and hands each bind id's streams to the agent connection `sessions` names; gRPC and
 * data connections are closed. With `certificates`, it serves TLS as an edge with a certificate does;
 * with `peerCheck` too, it asks for client certificates and checks relays' as one with a cluster CA does.
 */
export async function startRelayListener(
  secret: string,
  sessions: Record<string, MuxConnection>,
  certificates?: CertificateStore,
  cluster: { peerCheck?: ClusterPeerCheck; logger?: Logger } = {},
): Promise<{ server: Server; address: string }> {
  const server = createAgentListener(
    {
      grpc: (s) => s.destroy(),
      data: (s) => s.destroy(),
      relay: (s) =>
        acceptRelayConnection(s, {
          edgeId: "b",
          clusterSecret: secret,
          peerCheck: cluster.peerCheck,
          sessionFor: (bindId) => (sessions[bindId] ? ({ pickConnection: () => sessions[bindId] } as unknown as AgentSession) : undefined),
          mux: {},
          handshakeTimeoutMs: 2000,
          logger: cluster.logger ?? silentLogger(),
        }),
    },
    2000,
    silentLogger(),
    certificates,
    cluster.peerCheck !== undefined,
  );
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, address: `127.0.0.1:${(server.address() as AddressInfo).port}` };
}

/** A logger that keeps the `err` of every warning. */
export function warningsOf(): { logger: Logger; warnings: string[] } {
  const warnings: string[] = [];
  const logger = silentLogger();
  logger.warn = ((obj: { err?: string }) => void warnings.push(String(obj.err))) as Logger["warn"];
  return { logger, warnings };
}
