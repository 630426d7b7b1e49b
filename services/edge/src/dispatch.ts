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
 * No member of the pool can take a request right now, but one is expected to soon (the relay to
 * its edge is being dialled): wait with `routeWhenReady` where the caller can.
 */
export class RouteQueued extends OnrampError {
  constructor(endpoint: EdgeEndpoint) {
    super(ErrorCode.EndpointOffline, `the endpoint ${endpoint.url.url} is offline: no agent serving it could be reached in time`);
  }
}

/** How long a request waits for a member that is not ready yet (a relay being dialled): a handshake or two. */
export const QUEUE_TIMEOUT_MS = 2_000;

/**
 * Chooses a member of the endpoint's pool that can take a request now, and the route to it;
 * members in `exclude` (already tried for this request) are passed over. Throws ENDPOINT_OFFLINE
 * when no member can, and `RouteQueued` when one may soon.
 *
 * A member without a route (its session is ending or silent, the relay to its edge is down or
 * silent) is marked not ready in the pool, so its tier's health drops and traffic spills over;
 * it is checked again at every pick until its route is back.
 */
export function pickRoute(endpoint: EdgeEndpoint, exclude?: ReadonlySet<string>): Route {
  const pool = endpoint.pool;
  if (endpoint.unready?.size) recheck(endpoint);
  for (;;) {
    const pick = pool.pick(exclude);
    if (pick.kind === "pick") {
      const opener = pick.member.opener();
      if (opener) {
        endpoint.meter.picked(pick.tier, pick.panic);
        return { member: pick.member, opener, release: pick.release };
      }
      pick.release();
      pool.setReady(pick.member.id, false);
      (endpoint.unready ??= new Set()).add(pick.member.id);
      continue;
    }
    if (pick.kind === "queue") throw new RouteQueued(endpoint);
    throw new OnrampError(ErrorCode.EndpointOffline, `the endpoint ${endpoint.url.url} is offline: no agent serving it can take requests`);
  }
}

/** Marks members whose route is back as ready again; forgets members that left. */
function recheck(endpoint: EdgeEndpoint): void {
  for (const id of endpoint.unready!) {
    const member = endpoint.pool.get(id);
    if (member && !member.opener()) continue;
    endpoint.unready!.delete(id);
    if (member) endpoint.pool.setReady(id, true);
  }
}

/** How often a queued request looks again when no event came (a hung member that recovers sends none). */
const QUEUE_RECHECK_MS = 100;

/** Like `pickRoute`, but waits (up to `timeoutMs`) for a member that is not ready yet. */
export async function routeWhenReady(table: RoutingTable, endpoint: EdgeEndpoint, exclude?: ReadonlySet<string>, timeoutMs = QUEUE_TIMEOUT_MS): Promise<Route> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      return pickRoute(endpoint, exclude);
    } catch (err) {
      const left = deadline - performance.now();
      if (!(err instanceof RouteQueued) || left <= 0) throw err;
      await table.changed(Math.min(left, QUEUE_RECHECK_MS));
    }
  }
}
