import { ErrorCode, OnrampError } from "@onramp/errors";
import type { MuxConnection } from "@onramp/mux";
import type { AgentSession } from "./agent-session.js";
import { hostnameOf } from "./endpoint-url.js";
import type { Endpoint, Member, RoutingTable } from "./routing-table.js";

export type EdgeEndpoint = Endpoint<AgentSession>;
export type EdgeMember = Member<AgentSession>;

/** Where one request goes: the endpoint, the chosen member and the data connection to use. */
export interface Route {
  readonly endpoint: EdgeEndpoint;
  readonly member: EdgeMember;
  readonly connection: MuxConnection;
  /** Ends the request's claim on the member (outstanding count); safe to call twice. */
  readonly release: () => void;
}

/** Resolves a request's Host to an endpoint and a member, or says why not. */
export function routeRequest(table: RoutingTable<AgentSession>, hostHeader: string | undefined): Route {
  const hostname = hostnameOf(hostHeader);
  if (!hostname) throw new OnrampError(ErrorCode.MalformedRequest, "the request has no Host header");
  const endpoint = table.lookup(hostname);
  if (!endpoint) {
    if (table.wasOnline(hostname)) {
      throw new OnrampError(ErrorCode.EndpointOffline, `the endpoint ${hostname} is offline: no agent serving it is connected`);
    }
    throw new OnrampError(ErrorCode.EndpointNotFound, `no endpoint is bound for ${hostname}`);
  }
  // A member whose session lost its data connections is skipped; its session is ending.
  let tried: Set<string> | undefined;
  for (;;) {
    const pick = endpoint.pool.pick(tried);
    if (pick.kind === "fail") {
      throw new OnrampError(ErrorCode.EndpointOffline, `the endpoint ${endpoint.url.url} is offline: no agent serving it can take requests`);
    }
    const connection = pick.member.session.pickConnection();
    if (connection) return { endpoint, member: pick.member, connection, release: pick.release };
    pick.release();
    (tried ??= new Set()).add(pick.member.id);
  }
}
