import type { Tier } from "./member.js";

/**
 * Why nothing can be picked and nothing is worth waiting for. `no-members`: the pool is empty.
 * `no-available-members`: every member is draining, already tried for this request, or out of
 * service (unhealthy or ejected) while the pool is not in panic.
 */
export type FailReason = "no-members" | "no-available-members";

/** Why the caller should wait and pick again: a member is only waiting for a usable connection. */
export type QueueReason = "members-not-ready";

/**
 * Result of a pick: never `undefined`, never a throw (grpc-js `PickResultType`: COMPLETE, QUEUE,
 * TRANSIENT_FAILURE).
 */
export type PickResult<M> =
  | {
      readonly kind: "pick";
      readonly member: M;
      /** Ends the request's claim on the member (its outstanding count); safe to call twice. */
      readonly release: () => void;
      /** Tier the member was picked from: 0 this edge, 1 this region, 2 another region. */
      readonly tier: Tier;
      /** True when the pool was below its panic threshold and health was ignored for this pick. */
      readonly panic: boolean;
    }
  | { readonly kind: "queue"; readonly reason: QueueReason }
  | { readonly kind: "fail"; readonly reason: FailReason };
