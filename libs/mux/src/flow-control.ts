/**
 * Receive-side credit for one stream, with window auto-tuning in the manner of quic-go and
 * HTTP/2 BDP probing: the window starts small and doubles whenever the sender uses up a whole
 * window in less than two round trips, i.e. whenever the window, not the consumer, is what
 * limits throughput. A slow consumer never grows its window, so memory stays bounded by what
 * each reader actually keeps up with.
 */
export class ReceiveWindow {
  /** Current window size: the most bytes the sender may have in flight. */
  size: number;
  /** Bytes the peer may still send before it must wait for credit. */
  private available: number;
  /** Bytes consumed downstream but not yet returned to the peer as credit. */
  private unacked = 0;
  private epochStart: number;

  constructor(
    initial: number,
    private readonly max: number,
    now: number,
  ) {
    this.size = initial;
    this.available = initial;
    this.epochStart = now;
  }

  /** Records `n` received bytes; false when the peer overran the credit it was given. */
  receive(n: number): boolean {
    this.available -= n;
    return this.available >= 0;
  }

  /**
   * Records `n` bytes consumed downstream. Returns the credit to send the peer now, or 0 while
   * less than half a window is pending (batching window updates halves their count).
   */
  consume(n: number, now: number, rttMs: number): number {
    this.unacked += n;
    if (this.unacked < this.size / 2) return 0;
    let credit = this.unacked;
    if (rttMs > 0 && now - this.epochStart < 2 * rttMs && this.size < this.max) {
      const grown = Math.min(this.size * 2, this.max);
      credit += grown - this.size;
      this.size = grown;
    }
    this.unacked = 0;
    this.available += credit;
    this.epochStart = now;
    return credit;
  }
}
