import { ErrorCode, OnrampError } from "@onramp/errors";
import type { MuxConnection } from "@onramp/mux";
import type { AgentSession } from "./agent-session.js";
import { hostnameOf } from "./endpoint-url.js";
import type { Endpoint, Member, RoutingTable } from "./routing-table.js";

export type EdgeEndpoint = Endpoint<AgentSession>;
export type EdgeMember = Member<AgentSession>;

/** The member chosen for one request and the data connection to use. */
export interface Pick {
  readonly member: EdgeMember;
  readonly connection: MuxConnection;
  /** Ends the request's claim on the member (outstanding count); safe to call twice. */
  readonly release: () => void;
}

/** The endpoint serving a request's Host, or an error saying why there is none. */
export function resolveEndpoint(table: RoutingTable<AgentSession>, hostHeader: string | undefined, includeInternal = false): EdgeEndpoint {
  const hostname = hostnameOf(hostHeader);
  if (!hostname) throw new OnrampError(ErrorCode.MalformedRequest, "the request has no Host header");
  const endpoint = table.lookup(hostname, includeInternal);
  if (endpoint) return endpoint;
  if (table.wasOnline(hostname)) {
    throw new OnrampError(ErrorCode.EndpointOffline, `the endpoint ${hostname} is offline: no agent serving it is connected`);
  }
  throw new OnrampError(ErrorCode.EndpointNotFound, `no endpoint is bound for ${hostname}`);
}

/** Chooses a member of the endpoint's pool that can take a request now. */
export function pickMember(endpoint: EdgeEndpoint): Pick {
  // A member whose session lost its data connections is skipped; its session is ending.
  let tried: Set<string> | undefined;
  for (;;) {
    const pick = endpoint.pool.pick(tried);
    if (pick.kind === "fail") {
      throw new OnrampError(ErrorCode.EndpointOffline, `the endpoint ${endpoint.url.url} is offline: no agent serving it can take requests`);
    }
    const connection = pick.member.session.pickConnection();
    if (connection) return { member: pick.member, connection, release: pick.release };
    pick.release();
    (tried ??= new Set()).add(pick.member.id);
  }
}
