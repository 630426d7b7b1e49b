import { ErrorCode, OnrampError } from "@onramp/errors";
import { hostnameOf } from "./endpoint-url.js";
import type { Endpoint, Member, RoutingTable, StreamOpener } from "./routing-table.js";

export type EdgeEndpoint = Endpoint;
export type EdgeMember = Member;

/**
 * Where one request goes: the member chosen and what to open its stream on (the agent's data
 * connection here, or the relay to the member's edge). The proxy sees only this, never sessions
 * or connections, so a relayed member is just another route.
 */
export interface Route {
  readonly member: Member;
  readonly opener: StreamOpener;
  /** Ends the request's claim on the member (outstanding count); safe to call twice. */
  readonly release: () => void;
}

/** The endpoint serving a request's Host, or an error saying why there is none. */
export function resolveEndpoint(table: RoutingTable, hostHeader: string | undefined, includeInternal = false): EdgeEndpoint {
  const hostname = hostnameOf(hostHeader);
  if (!hostname) throw new OnrampError(ErrorCode.MalformedRequest, "the request has no Host header");
  const endpoint = table.lookup(hostname, includeInternal);
  if (endpoint) return endpoint;
  if (table.wasOnline(hostname)) {
    throw new OnrampError(ErrorCode.EndpointOffline, `the endpoint ${hostname} is offline: no agent serving it is connected`);
  }
  throw new OnrampError(ErrorCode.EndpointNotFound, `no endpoint is bound for ${hostname}`);
}

/**
 * Chooses a member of the endpoint's pool that can take a request now, and the route to it;
 * members in `exclude` (already tried for this request) are passed over.
 */
export function pickRoute(endpoint: EdgeEndpoint, exclude?: ReadonlySet<string>): Route {
  // A member that cannot open a stream now (its session is ending, the relay to its edge is
  // down) is skipped.
  let tried: Set<string> | undefined = exclude ? new Set(exclude) : undefined;
  for (;;) {
    const pick = endpoint.pool.pick(tried);
    if (pick.kind === "fail") {
      throw new OnrampError(ErrorCode.EndpointOffline, `the endpoint ${endpoint.url.url} is offline: no agent serving it can take requests`);
    }
    const opener = pick.member.opener();
    if (opener) return { member: pick.member, opener, release: pick.release };
    pick.release();
    (tried ??= new Set()).add(pick.member.id);
  }
}
