import { randomUUID } from "node:crypto";
import { ErrorCode, OnrampError } from "@onramp/errors";
import { fromChannelError, taggedMessage, type ChannelError, type ProcessChannel } from "./process-channel.js";

/**
 * The wire between a worker-side handle and its host (channel-host.ts), under one tag:
 *
 *   worker → host  { onramp, handle, call: id, method, args }   a call; answered once
 *                  { onramp, handle, method, args }             a notice; never answered
 *   host → worker  { onramp, handle, reply: id, value }          or `error: ChannelError`
 *                  { onramp, handle, …push }                     anything else for the handle (watch events)
 *                  { onramp, gone: true }                        the host closed: every handle is gone
 *
 * A handle is one `Registry` (one edge) or one access source; several share a channel.
 */
export interface ChannelClientOptions {
  readonly tag: string;
  readonly channel: ProcessChannel;
  /** Bound on one call; past it the call rejects with REGISTRY_UNAVAILABLE. */
  readonly timeoutMs: number;
  /** Named in errors, e.g. "the registry". */
  readonly what: string;
  /** Messages for this handle that are not replies, in the order they came. */
  readonly onPush: (message: Record<string, unknown>) => void;
  /** The host went away or was closed; calls fail from now on. */
  readonly onGone?: (why: OnrampError) => void;
  /** A reply that came after its call had timed out: the call may have taken effect anyway. */
  readonly onLateReply?: (method: string, value: unknown) => void;
}

interface Pending {
  readonly method: string;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: OnrampError) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * Timed-out calls remembered per handle, so a claim that went through after its caller gave up is
 * taken back when its reply comes. 1,000 covers a primary stuck for a whole timeout under every
 * bind a worker would see in it; beyond that the oldest are forgotten (bounded memory).
 */
const MAX_TIMED_OUT = 1_000;

/** The worker side of one handle: numbered calls with a bound, and pushes in channel order. */
export class ChannelClient {
  readonly handle = randomUUID();
  private nextCall = 0;
  private readonly pending = new Map<number, Pending>();
  private readonly timedOut = new Map<number, string>();
  private failure: OnrampError | undefined;
  private readonly stops: (() => void)[];

  constructor(private readonly options: ChannelClientOptions) {
    this.stops = [
      options.channel.onMessage((message) => this.receive(message)),
      options.channel.onClose(() => this.fail(`${options.what} is unreachable: the channel to the primary process closed`)),
    ];
  }

  /** False once the host is gone or the handle was disposed. */
  get open(): boolean {
    return this.failure === undefined;
  }

  /** The error calls fail with now, or undefined while the host is there. */
  get gone(): OnrampError | undefined {
    return this.failure;
  }

  call(method: string, args: unknown[]): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    const id = ++this.nextCall;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.timedOut.set(id, method);
        if (this.timedOut.size > MAX_TIMED_OUT) this.timedOut.delete(this.timedOut.keys().next().value!);
        reject(new OnrampError(ErrorCode.RegistryUnavailable, `${this.options.what} did not answer ${method} within ${this.options.timeoutMs} ms`));
      }, this.options.timeoutMs);
      this.pending.set(id, { method, resolve, reject, timer });
      this.options.channel.send({ onramp: this.options.tag, handle: this.handle, call: id, method, args });
    });
  }

  /** Sends without waiting for an answer; dropped once the host is gone. */
  notify(method: string, args: unknown[]): void {
    if (!this.failure) this.options.channel.send({ onramp: this.options.tag, handle: this.handle, method, args });
  }

  /** Stops listening; pending and later calls fail with `why`. */
  dispose(why: string): void {
    this.fail(why);
    for (const stop of this.stops.splice(0)) stop();
  }

  private receive(message: unknown): void {
    const m = taggedMessage(this.options.tag, message);
    if (!m) return;
    if (m.gone === true) return this.fail(`${this.options.what} is unreachable: the primary process closed it`);
    if (m.handle !== this.handle) return;
    if (typeof m.reply !== "number") {
      if (!this.failure) this.options.onPush(m);
      return;
    }
    const pending = this.pending.get(m.reply);
    if (!pending) {
      const method = this.timedOut.get(m.reply);
      this.timedOut.delete(m.reply);
      if (method !== undefined && m.error === undefined) this.options.onLateReply?.(method, m.value);
      return;
    }
    this.pending.delete(m.reply);
    clearTimeout(pending.timer);
    if (m.error !== undefined) pending.reject(fromChannelError(m.error as ChannelError));
    else pending.resolve(m.value);
  }

  private fail(why: string): void {
    if (this.failure) return;
    const failure = new OnrampError(ErrorCode.RegistryUnavailable, why);
    this.failure = failure;
    for (const pending of this.pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(failure);
    }
    this.pending.clear();
    this.options.onGone?.(failure);
  }
}

export interface ChannelOptions {
  /**
   * How long a call waits for the primary before it fails with REGISTRY_UNAVAILABLE. Default
   * 10 s: the primary answers from memory in microseconds, so only a primary stuck (a long GC, a
   * blocked event loop) or gone comes near it; longer than the etcd registry's 5 s so a worker
   * never gives up sooner than an etcd edge would.
   */
  requestTimeoutMs?: number;
}

/** `requestTimeoutMs` with its default, rejected with INVALID_ARGUMENT naming it when bad. */
export function resolveRequestTimeout(options: ChannelOptions, what: string): number {
  const ms = options.requestTimeoutMs ?? 10_000;
  if (!Number.isInteger(ms) || ms < 1) {
    throw new OnrampError(ErrorCode.InvalidArgument, `${what} option requestTimeoutMs must be a whole number of milliseconds ≥ 1, got ${ms}`);
  }
  return ms;
}
