import { ErrorCode, OnrampError } from "@onramp/errors";
import { taggedMessage, toChannelError, type ProcessChannel } from "./process-channel.js";

/** What a host keeps for one worker-side handle (the wire is described in channel-client.ts). */
export interface HostedHandle {
  /** Answers one call; what it throws or rejects with goes back as a ChannelError. */
  call(method: string, args: unknown[]): unknown;
  /** A notice from the worker; nothing goes back. */
  notify(method: string, args: unknown[]): void;
  close(): Promise<void>;
}

/** Sends a message to the handle that `open` was called for. */
export type Push = (message: Record<string, unknown>) => void;

/**
 * Serves the handles one worker opens under `tag`: each gets its own `HostedHandle`, made on its
 * first message and closed by its `close` call, by the channel closing (the worker died) or by
 * the host's `close()`. Calls run in the order they arrive, each started before the next is read.
 */
export function serveOnChannel(tag: string, channel: ProcessChannel, open: (push: Push) => HostedHandle): { close(): Promise<void> } {
  const handles = new Map<string, HostedHandle>();
  /** Handles closed by their worker: a straggling call gets an error instead of a new handle. */
  const ended = new Set<string>();
  let closed = false;

  const send = (message: Record<string, unknown>) => {
    if (!closed) channel.send({ onramp: tag, ...message });
  };

  const reply = (handle: string, id: number, outcome: Promise<unknown>) =>
    outcome.then(
      (value) => send({ handle, reply: id, value }),
      (err: unknown) => send({ handle, reply: id, error: toChannelError(err) }),
    );

  const receive = (message: unknown) => {
    const m = taggedMessage(tag, message);
    if (!m || closed || typeof m.handle !== "string" || typeof m.method !== "string") return;
    const { handle: id, method } = m;
    const args = Array.isArray(m.args) ? (m.args as unknown[]) : [];
    const call = typeof m.call === "number" ? m.call : undefined;
    if (ended.has(id)) {
      if (call !== undefined) reply(id, call, Promise.reject(new OnrampError(ErrorCode.RegistryUnavailable, `${tag} handle closed`)));
      return;
    }
    let handle = handles.get(id);
    if (!handle && method === "close") {
      ended.add(id);
      if (call !== undefined) void reply(id, call, Promise.resolve(undefined));
      return;
    }
    if (!handle) {
      handle = open((push) => send({ ...push, handle: id }));
      handles.set(id, handle);
    }
    if (method === "close") {
      handles.delete(id);
      ended.add(id);
      if (call !== undefined) void reply(id, call, handle.close());
      else void handle.close();
      return;
    }
    if (call === undefined) {
      handle.notify(method, args);
      return;
    }
    let outcome: Promise<unknown>;
    try {
      outcome = Promise.resolve(handle.call(method, args));
    } catch (err) {
      outcome = Promise.reject(err);
    }
    void reply(id, call, outcome);
  };

  const closeAll = async () => {
    const all = [...handles.values()];
    handles.clear();
    await Promise.all(all.map((h) => h.close()));
  };

  const stops: (() => void)[] = [];
  let closing: Promise<void> | undefined;
  const shutdown = (notify: boolean): Promise<void> => {
    if (closing) return closing;
    if (notify) send({ gone: true });
    closed = true;
    for (const stop of stops.splice(0)) stop();
    closing = closeAll();
    return closing;
  };
  stops.push(channel.onMessage(receive), channel.onClose(() => void shutdown(false)));
  if (closed) for (const stop of stops.splice(0)) stop();

  return { close: () => shutdown(true) };
}

/** The error a hosted handle answers an unknown method with: a worker and primary of different builds. */
export function unknownMethod(tag: string, method: string): OnrampError {
  return new OnrampError(ErrorCode.Internal, `${tag} host has no method ${JSON.stringify(method)}`);
}
