import { ErrorCode, OnrampError, parseErrorCode } from "@onramp/errors";

/**
 * One end of a message pipe to another process: a cluster worker's `process`, or the primary's
 * `Worker`, with `serialization: "advanced"` so messages are structured-cloned (Uint8Array, Map
 * and Date survive; functions and class instances do not).
 *
 * Several services share one channel (registry, access, bus, and the CLI's own messages), so
 * every message sent through it is an object tagged `{ onramp: "<service>", … }` and each
 * service ignores the others' tags. An adapter must drop, not throw, a `send` after the other
 * side went away (Node emits ERR_IPC_CHANNEL_CLOSED as an 'error' event otherwise).
 */
export interface ProcessChannel {
  /** Sends a structured-clone-able message. */
  send(message: unknown): void;
  /** Hears every message from the other side; returns a function that stops listening. */
  onMessage(listener: (message: unknown) => void): () => void;
  /** Hears the other side going away (IPC 'disconnect'); returns a function that stops listening. */
  onClose(listener: () => void): () => void;
}

/** Tags of the registry's messages: worker registries and access sources, and their host. */
export const REGISTRY_TAG = "registry";
export const ACCESS_TAG = "access";

/** An OnrampError as it crosses a channel: its code and message; the cause stays behind. */
export interface ChannelError {
  readonly code: string;
  readonly message: string;
}

/** What `err` becomes on the wire; anything not an OnrampError is INTERNAL with its message. */
export function toChannelError(err: unknown): ChannelError {
  if (err instanceof OnrampError) return { code: err.code, message: err.message };
  return { code: ErrorCode.Internal, message: err instanceof Error ? err.message : String(err) };
}

/** The OnrampError a `ChannelError` stands for; unknown codes become INTERNAL. */
export function fromChannelError(wire: ChannelError): OnrampError {
  return new OnrampError(parseErrorCode(String(wire.code)), String(wire.message));
}

/** A message sent under `tag`, as a record to read fields from; undefined for anyone else's. */
export function taggedMessage(tag: string, message: unknown): Record<string, unknown> | undefined {
  if (typeof message !== "object" || message === null) return undefined;
  const record = message as Record<string, unknown>;
  return record.onramp === tag ? record : undefined;
}
