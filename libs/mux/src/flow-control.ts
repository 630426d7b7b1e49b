/**
 * Receive-side credit for one stream, with window auto-tuning in the manner of quic-go and
 * HTTP/2 BDP probing: the window starts small and grows eightfold whenever the sender uses up
 * the window in less than two round trips, i.e. whenever the window, not the consumer, is what
 * limits throughput. A slow consumer never grows its window, so memory stays bounded by what
 * each reader actually keeps up with.
 *
 * Each growth step costs a round trip, and a 100 MB download at 50 ms RTT spent a third of its
 * time ramping up when windows only doubled (6 steps from 256 KiB to 16 MiB); eightfold takes 2
 * to 3. Credit goes back every quarter window rather than every half, so the sender has more of
 * the window in flight between updates (bench: 118 → 165-200 MB/s down at 50 ms RTT).
 *
 * The first credit also measures the path: how fast the first quarter window drained, from its
 * first byte (not from the stream's opening, which adds the request's round trip and the
 * upstream's think time). A stream whose first bytes drained at r bytes/ms gets a window of
 * 2·r·RTT at once when that is more than eightfold: a fast path skips the remaining 8× steps, a
 * round trip each (bench: 3 steps of 50 ms were most of what a 100 MB transfer lost to plain
 * TCP sockets), while a consumer slower than the initial window per two round trips still gets
 * no growth at all.
 */
const GROWTH = 8;
/** Credit is returned once this share of the window has been consumed. */
const CREDIT_BATCH = 1 / 4;
/** Round trips after its first credit that a loan runs, unless the stream earned it sooner. */
const LOAN_TERM_RTTS = 4;

export class ReceiveWindow {
  /** Current window size: the most bytes the sender may have in flight. */
  size: number;
  /** Bytes the peer may still send before it must wait for credit. */
  private available: number;
  /** Bytes consumed downstream but not yet returned to the peer as credit. */
  private unacked = 0;
  private epochStart: number;
  /** When the first body byte arrived; NaN before it, undefined once the first credit went back. */
  private firstByteAt: number | undefined = Number.NaN;
  /** Credit lent up front (`lend`) and not settled yet: the window is what the growth rules give plus this. */
  private lent = 0;
  /** When the loan's term ends; set at the first credit while a loan is out. */
  private loanEndsAt: number | undefined;

  constructor(
    initial: number,
    private readonly max: number,
    now: number,
  ) {
    this.size = initial;
    this.available = initial;
    this.epochStart = now;
  }

  /** Whether credit lent up front is still outstanding. */
  get lending(): boolean {
    return this.lent > 0;
  }

  /**
   * Gives the sender `bytes` more credit before anything arrived (a loan, sent as a WINDOW frame
   * by the caller), so a large body need not wait a round trip for the window to grow. Credit
   * comes back as for the window without the loan, which grows by the usual rules meanwhile, and
   * the loan runs until those rules give at least as much (the stream earned it) or for
   * `LOAN_TERM_RTTS` round trips after the first credit, whichever is first. Then the window is
   * what the rules gave: a loan the stream did not earn is taken back out of the credit it would
   * be owed, so a slow reader buffers no more than the loan, and only for its term.
   */
  lend(bytes: number): void {
    this.size += bytes;
    this.available += bytes;
    this.lent += bytes;
  }

  /** Whether `receive` wants the time (only for the stream's first body bytes). */
  get awaitsFirstByte(): boolean {
    return this.firstByteAt !== undefined && Number.isNaN(this.firstByteAt);
  }

  /** Records `n` received bytes; false when the peer overran the credit it was given. `now` matters only while `awaitsFirstByte`. */
  receive(n: number, now = 0): boolean {
    if (this.awaitsFirstByte && n > 0) this.firstByteAt = now;
    this.available -= n;
    return this.available >= 0;
  }

  /**
   * Records `n` bytes consumed downstream. Returns the credit to send the peer now, or 0 while
   * less than a quarter window is pending (batching window updates cuts their count fourfold).
   */
  consume(n: number, now: number, rttMs: number): number {
    this.unacked += n;
    // Batches are a quarter of the window the rules give: a loan does not delay the first credit.
    const base = this.size - this.lent;
    if (this.unacked < base * CREDIT_BATCH) return 0;
    let grown = base;
    if (rttMs > 0 && base < this.max) {
      if (now - this.epochStart < 2 * rttMs) grown = base * GROWTH;
      if (this.firstByteAt !== undefined && !Number.isNaN(this.firstByteAt)) {
        const drainMs = now - this.firstByteAt;
        grown = Math.max(grown, drainMs > 0 ? Math.ceil((2 * rttMs * this.unacked) / drainMs) : this.max);
      }
      grown = Math.min(grown, this.max);
    }
    let lent = this.lent;
    if (lent > 0) {
      if (grown >= base + lent) lent = 0;
      else if (this.loanEndsAt === undefined) this.loanEndsAt = now + LOAN_TERM_RTTS * rttMs;
      else if (now >= this.loanEndsAt) lent = 0;
      if (lent === 0) this.loanEndsAt = undefined;
    }
    // A window smaller than before (a loan that ended unearned) is paid back out of this credit,
    // and out of later ones while it comes out negative.
    const size = grown + lent;
    const credit = this.unacked + size - this.size;
    this.size = size;
    this.lent = lent;
    this.firstByteAt = undefined;
    this.epochStart = now;
    if (credit <= 0) {
      this.unacked = credit;
      return 0;
    }
    this.unacked = 0;
    this.available += credit;
    return credit;
  }
}
