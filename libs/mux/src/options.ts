import { ErrorCode, OnrampError } from "@onramp/errors";
import { FRAME_HEADER_SIZE, MAX_DATA_CHUNK, MAX_FRAME_PAYLOAD } from "./frame.js";

/** Tuning for one data connection. Both ends of a connection should agree on the windows. */
export interface MuxOptions {
  /**
   * Credit each stream starts with, in bytes. 256 KiB: fills a 5 ms path at 50 MB/s before
   * auto-tuning has measured anything, and costs nothing until the sender uses it.
   */
  initialStreamWindow?: number;
  /**
   * Ceiling for auto-tuned stream windows, in bytes. 32 MiB: 200 MB/s needs 10 MiB at 50 ms RTT
   * (a 16 MiB ceiling capped one download near 250 MB/s there, under what parallel TCP sockets
   * reach); only a stream whose reader keeps up at that rate grows this far, so slow readers
   * never make the other side buffer more than the initial window.
   */
  maxStreamWindow?: number;
  /**
   * Credit lent at once, beyond the initial window, to a body this side receives, in bytes; 0
   * never lends. The opening side lends each stream it opens this much for the peer's response
   * (a WINDOW frame after the head); the accepting side offers it ahead of time to the next
   * stream the peer opens with a body (a WINDOW frame on stream 0, taken with FLAG_TAKES_LOAN).
   * 16 MiB: a body over a long path starts at the rate the path allows instead of waiting a
   * round trip for the window to grow (a 100 MB transfer at 50 ms RTT lost one round trip in
   * six to that). Lent only on paths whose lowest measured RTT is at least 5 ms (below that,
   * growing costs less than the loan's WINDOW frame is worth) and within `maxLentBytes`; see
   * `ReceiveWindow.lend` for how a loan settles. At most `maxStreamWindow` minus
   * `initialStreamWindow`.
   */
  streamLoan?: number;
  /**
   * Most credit lent (`streamLoan`) and not yet settled across the connection's streams, in
   * bytes. 64 MiB: four loans at a time; this bounds what slow readers of lent streams can make
   * this side buffer beyond their windows' growth.
   */
  maxLentBytes?: number;
  /**
   * How often to ping while streams are open, in ms. 500 ms: a peer that hangs under load is
   * noticed within `idleTimeoutMs` plus one interval; each ping is 17 bytes, nothing next to the
   * traffic it guards.
   */
  pingIntervalMs?: number;
  /**
   * How often to ping with no stream open, in ms. 10 s: keeps NAT mappings and the RTT estimate
   * fresh at a twentieth of the active rate; the first request after a quiet spell pings at once.
   */
  idlePingIntervalMs?: number;
  /**
   * A ping unanswered (nothing at all received since it went out) for this long means the peer
   * is gone, in ms. 1.5 s: three ping intervals, so a hung peer (SIGSTOP, a frozen VM, a silent
   * partition) with requests on it is given up within 2 s and they are retried elsewhere; SIGKILL
   * and closed sockets are noticed at once anyway.
   */
  idleTimeoutMs?: number;
  /**
   * Socket bytes queued before DATA senders are paused, in bytes. 1 MiB: enough to keep the
   * kernel buffer full on fast links between event-loop turns.
   */
  maxQueuedBytes?: number;
  /**
   * Largest frame payload taken before the peer is authenticated (its HELLO), in bytes. 4 KiB: a
   * data hello (session id, 32-byte token) is about 75 bytes and a relay hello (edge id of up to
   * 128 characters, nonces, MAC) under 250, so there is room to grow while an unauthenticated
   * peer can make us buffer no more than this. At least 512.
   */
  maxHelloBytes?: number;
  /** Largest frame payload taken once authenticated, in bytes. Default `MAX_FRAME_PAYLOAD` (1 MiB). */
  maxFrameBytes?: number;
  /**
   * Bytes queued for the peer that, when they stay queued past `outputStallTimeoutMs`, mean the
   * peer does not read: the connection is closed. Default four times `maxQueuedBytes` (4 MiB):
   * DATA senders stop at `maxQueuedBytes`, so only control frames (pongs, window updates, resets)
   * and heads piling up behind a peer that does not read get this far. At least
   * `maxQueuedBytes` + 64 KiB, what DATA alone may queue.
   */
  outputStallBytes?: number;
  /**
   * How long more than `outputStallBytes` may stay queued, in ms. 10 s: a peer that reads, even
   * over a slow link, brings the queue down well within it.
   */
  outputStallTimeoutMs?: number;
  /**
   * Bytes queued for the peer at which the connection is closed at once, in bytes. Default four
   * times `outputStallBytes` (16 MiB): a hard bound on what a peer that never reads costs while
   * it floods us with frames we must answer (one frame more at most), reached before the grace
   * of `outputStallTimeoutMs` runs out only by such a flood.
   */
  maxOutputBytes?: number;
}

export type ResolvedMuxOptions = Required<MuxOptions>;

export function resolveMuxOptions(options: MuxOptions = {}): ResolvedMuxOptions {
  const resolved: ResolvedMuxOptions = {
    initialStreamWindow: options.initialStreamWindow ?? 256 * 1024,
    maxStreamWindow: options.maxStreamWindow ?? 32 * 1024 * 1024,
    streamLoan: 0,
    maxLentBytes: options.maxLentBytes ?? 64 * 1024 * 1024,
    pingIntervalMs: options.pingIntervalMs ?? 500,
    idlePingIntervalMs: options.idlePingIntervalMs ?? Math.max(10_000, options.pingIntervalMs ?? 500),
    idleTimeoutMs: options.idleTimeoutMs ?? 1_500,
    maxQueuedBytes: options.maxQueuedBytes ?? 1024 * 1024,
    maxHelloBytes: options.maxHelloBytes ?? 4 * 1024,
    maxFrameBytes: options.maxFrameBytes ?? MAX_FRAME_PAYLOAD,
    outputStallBytes: 0,
    outputStallTimeoutMs: options.outputStallTimeoutMs ?? 10_000,
    maxOutputBytes: 0,
  };
  // Derived from the fields they must stay above, so raising one does not trip the others.
  resolved.streamLoan = options.streamLoan ?? Math.min(16 * 1024 * 1024, resolved.maxStreamWindow - resolved.initialStreamWindow);
  resolved.outputStallBytes = options.outputStallBytes ?? 4 * resolved.maxQueuedBytes;
  resolved.maxOutputBytes = options.maxOutputBytes ?? 4 * resolved.outputStallBytes;
  const positive = (field: keyof ResolvedMuxOptions, min: number) => {
    const value = resolved[field];
    if (!Number.isInteger(value) || value < min) {
      throw new OnrampError(ErrorCode.InvalidArgument, `mux option ${field} must be an integer ≥ ${min}, got ${value}`);
    }
  };
  positive("initialStreamWindow", 16 * 1024);
  positive("maxStreamWindow", resolved.initialStreamWindow);
  positive("streamLoan", 0);
  positive("maxLentBytes", resolved.streamLoan);
  if (resolved.streamLoan > resolved.maxStreamWindow - resolved.initialStreamWindow) {
    throw new OnrampError(ErrorCode.InvalidArgument, "mux option streamLoan must be at most maxStreamWindow - initialStreamWindow");
  }
  positive("pingIntervalMs", 10);
  positive("idleTimeoutMs", resolved.pingIntervalMs);
  positive("idlePingIntervalMs", resolved.pingIntervalMs);
  positive("maxQueuedBytes", 16 * 1024);
  positive("maxHelloBytes", 512);
  positive("maxFrameBytes", resolved.maxHelloBytes);
  // DATA alone can queue up to `maxQueuedBytes` plus the chunk that crossed it: that is no stall.
  positive("outputStallBytes", resolved.maxQueuedBytes + MAX_DATA_CHUNK + FRAME_HEADER_SIZE);
  positive("outputStallTimeoutMs", 100);
  positive("maxOutputBytes", resolved.outputStallBytes);
  if (resolved.maxStreamWindow > 0x7fffffff) {
    throw new OnrampError(ErrorCode.InvalidArgument, "mux option maxStreamWindow must be below 2 GiB");
  }
  return resolved;
}
