import { ErrorCode, OnrampError } from "@onramp/errors";
import { compatibleRange } from "./keys.js";
import type { BindingRecord, StoredBinding } from "./records.js";

/**
 * Why `binding` may not join the bindings already under its host, or undefined when it may.
 * The same rule the etcd transaction enforces with key ranges (see keys.ts), here as a message
 * a user can act on.
 */
export function bindConflict(binding: BindingRecord, existing: readonly StoredBinding[], cloudEndpoint: boolean): OnrampError | undefined {
  if (cloudEndpoint) {
    return new OnrampError(ErrorCode.BindConflict, `${binding.url} is a cloud endpoint defined in the mesh's configuration; choose another URL.`);
  }
  const [start, end] = compatibleRange(binding);
  const other = existing.find((e) => e.key < start || e.key >= end);
  if (!other) return undefined;
  const held = other.binding;
  if (!held.pooling) {
    return new OnrampError(
      ErrorCode.BindConflict,
      `${binding.url} is already bound by another agent without pooling (on edge ${held.edge}). ` +
        "Stop that agent, choose another URL, or pass --pooling-enabled on every agent that binds it.",
    );
  }
  if (!binding.pooling) {
    return new OnrampError(
      ErrorCode.BindConflict,
      `${binding.url} is a pool of agents with pooling enabled (one is on edge ${held.edge}); ` +
        "pass --pooling-enabled to join it, or choose another URL.",
    );
  }
  return new OnrampError(
    ErrorCode.BindConflict,
    `${binding.url} is a pool whose members bound it with ${held.policy_hash ? "a different traffic policy" : "no traffic policy"}; ` +
      "every member of a pool must bind with the same policy (otherwise the member picked would decide which policy runs).",
  );
}

/** Refusal to define a cloud endpoint where agents hold bindings. */
export function cloudEndpointConflict(url: string, existing: readonly StoredBinding[]): OnrampError | undefined {
  if (existing.length === 0) return undefined;
  return new OnrampError(
    ErrorCode.BindConflict,
    `cannot define cloud endpoint ${url}: agents hold it (${existing.length} binding${existing.length === 1 ? "" : "s"}, e.g. on edge ${existing[0]!.binding.edge})`,
  );
}
