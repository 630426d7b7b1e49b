import type { MuxConnection } from "@onramp/mux";
import { silentLogger } from "@onramp/telemetry";
import type { AddressInfo, Server } from "node:net";
import { createAgentListener } from "./agent-listener.js";
import type { AgentSession } from "./agent-session.js";
import { acceptRelayConnection } from "./relay-server.js";
import type { CertificateStore } from "./tls-certificates.js";

/**
 * For tests: an agent port on loopback that takes relay connections for edge "b" (cluster secret
 * `secret`) and hands each bind id's streams to the agent connection `sessions` names; gRPC and
 * data connections are closed. With `certificates`, it serves TLS as an edge with a certificate does.
 */
export async function startRelayListener(
  secret: string,
  sessions: Record<string, MuxConnection>,
  certificates?: CertificateStore,
): Promise<{ server: Server; address: string }> {
  const server = createAgentListener(
    {
      grpc: (s) => s.destroy(),
      data: (s) => s.destroy(),
      relay: (s) =>
        acceptRelayConnection(s, {
          edgeId: "b",
          clusterSecret: secret,
          sessionFor: (bindId) => (sessions[bindId] ? ({ pickConnection: () => sessions[bindId] } as unknown as AgentSession) : undefined),
          mux: {},
          handshakeTimeoutMs: 2000,
          logger: silentLogger(),
        }),
    },
    2000,
    silentLogger(),
    certificates,
  );
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { server, address: `127.0.0.1:${(server.address() as AddressInfo).port}` };
}
