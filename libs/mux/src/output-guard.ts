import type { ResolvedMuxOptions } from "./options.js";

type OutputLimits = Pick<ResolvedMuxOptions, "outputStallBytes" | "outputStallTimeoutMs" | "maxOutputBytes">;

/**
 * Tells when a peer has stopped reading what a connection sends it. DATA senders pause at
 * `maxQueuedBytes`, but the frames a connection writes of its own accord — pongs, window updates,
 * resets, heads — do not: a peer that keeps provoking them and never reads would make us queue
 * them without end. That is the HTTP/2 "ping flood" (CVE-2019-9512), which Go's server answers by
 * capping queued control frames; here it once took an edge from 85 MB to 2.2 GB in 10 s.
 *
 * The measure is `writableLength`: every byte a connection has written and the kernel has not
 * taken yet, including those corked for the current event-loop turn.
 */
export class OutputGuard {
  /** When the queue last rose above `outputStallBytes` without going back under; undefined while under. */
  private stalledSince: number | undefined;

  constructor(
    private readonly socket: { readonly writableLength: number },
    private readonly limits: OutputLimits,
  ) {}

  /** After each write: why to close the connection at once, if the queue passed the hard cap. */
  afterWrite(now: number): string | undefined {
    const queued = this.socket.writableLength;
    if (queued > this.limits.maxOutputBytes) {
      return `the peer is not reading: ${formatBytes(queued)} queued for it, over the ${formatBytes(this.limits.maxOutputBytes)} limit`;
    }
    if (queued > this.limits.outputStallBytes) this.stalledSince ??= now;
    return undefined;
  }

  /** Periodically: why to close the connection, if the queue stayed above `outputStallBytes` too long. */
  check(now: number): string | undefined {
    const queued = this.socket.writableLength;
    if (queued <= this.limits.outputStallBytes) {
      this.stalledSince = undefined;
      return undefined;
    }
    this.stalledSince ??= now;
    const { outputStallBytes, outputStallTimeoutMs } = this.limits;
    if (now - this.stalledSince < outputStallTimeoutMs) return undefined;
    return `the peer is not reading: over ${formatBytes(outputStallBytes)} queued for it for ${outputStallTimeoutMs} ms`;
  }

  /** The socket's queue emptied. */
  drained(): void {
    this.stalledSince = undefined;
  }
}

function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${(n / (1024 * 1024)).toFixed(1)} MiB` : `${Math.ceil(n / 1024)} KiB`;
}
