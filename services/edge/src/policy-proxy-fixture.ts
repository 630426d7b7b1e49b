import type { MuxStream } from "@onramp/mux";
import { createPolicyRuntime, formatPolicyErrors, loadPolicy, type LoadPolicyOptions, type Policy, type PolicyRuntime } from "@onramp/policy";
import { createEdgeMetrics, silentLogger } from "@onramp/telemetry";
import { createServer, request, type Agent, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ClientConnections } from "./client-connections.js";
import { parseEndpointUrl } from "./endpoint-url.js";
import { fakeAgentConnection } from "./fake-agent.js";
import { HttpProxy } from "./http-proxy.js";
import { PolicyFlow } from "./policy-flow.js";
import type { HttpProxyOptions } from "./request-shape.js";
import { RequestTelemetry } from "./request-telemetry.js";
import { RoutingTable, type Member } from "./routing-table.js";

/**
 * Test fixture: the HTTP proxy and the policy flow wired as edge.ts wires them, on a loopback
 * port, with endpoints whose member is a fake agent: what policy tests at the edge level share.
 */

export interface PolicyProxyOptions {
  /** Endpoint URL → its agent's policy. */
  readonly endpoints: Readonly<Record<string, Policy>>;
  /** What the fake agent does with each request stream (its encoded head). */
  readonly agent: (stream: MuxStream, head: Buffer) => void;
  readonly runtime?: PolicyRuntime;
  readonly proxy?: Partial<HttpProxyOptions>;
}

export interface PolicyProxy {
  readonly port: number;
  close(): void;
}

/** A policy from YAML, or the load errors thrown as one message. */
export function policyFrom(source: string, options?: LoadPolicyOptions): Policy {
  const loaded = loadPolicy(source, options);
  if (!loaded.ok) throw new Error(formatPolicyErrors(loaded.errors));
  return loaded.policy;
}

export async function startPolicyProxy(options: PolicyProxyOptions): Promise<PolicyProxy> {
  const table = new RoutingTable("eu");
  const agent = await fakeAgentConnection(options.agent);
  for (const [url, policy] of Object.entries(options.endpoints)) {
    const endpoint = parseEndpointUrl(url);
    const member: Member = {
      id: endpoint.host,
      bindId: `b-${endpoint.host}`,
      edge: "edge-a",
      region: "eu",
      agentId: "agent-1",
      sessionId: "s0",
      upstream: "",
      local: true,
      policy,
      opener: () => agent.connection,
    };
    table.addMember(endpoint, false, member);
  }
  const telemetry = new RequestTelemetry(createEdgeMetrics(), silentLogger(), undefined, "eu", { accessLog: false });
  const proxy = new HttpProxy(table, { maxRequestBodyBytes: 64 * 1024, inlineBodyBytes: 16 * 1024, ...options.proxy }, telemetry, silentLogger());
  proxy.policies = new PolicyFlow(proxy, table, options.runtime ?? createPolicyRuntime(), "eu", silentLogger(), new ClientConnections());
  const server: Server = createServer((req, res) => proxy.handle(req, res, false));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      server.closeAllConnections();
      server.close();
      agent.close();
    },
  };
}

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A GET to the proxy on `port` for `host` (a new connection unless `agent` keeps one), the body as text. */
export function getThrough(port: number, host: string, path = "/", headers: Record<string, string> = {}, agent: Agent | false = false): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, agent, headers: { host, ...headers } }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}
