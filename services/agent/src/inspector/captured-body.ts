/**
 * The first `limit` bytes of a body, copied as they pass: the agent reuses its chunk buffers
 * (ExchangeObserver's contract), so a kept reference would later show other bytes.
 */
export class CapturedBody {
  /** Made at the first chunk: most requests have no body. */
  private chunks: Buffer[] | undefined;
  /** Bytes kept, at most `limit`. */
  kept = 0;
  /** Bytes that passed, kept or not. */
  seen = 0;

  constructor(private readonly limit: number) {}

  /** More passed than was kept. */
  get truncated(): boolean {
    return this.seen > this.kept;
  }

  /** Copies what still fits; returns how many bytes were kept, for the store's total. */
  append(chunk: Uint8Array): number {
    this.seen += chunk.length;
    const room = this.limit - this.kept;
    if (room <= 0 || chunk.length === 0) return 0;
    const part = chunk.length <= room ? chunk : chunk.subarray(0, room);
    // Buffer.from(view) copies; Buffer.from(view.buffer, …) would share.
    (this.chunks ??= []).push(Buffer.from(part));
    this.kept += part.length;
    return part.length;
  }

  /** The kept bytes as one buffer (joined once, then reused). */
  bytes(): Buffer {
    if (this.chunks?.length !== 1) this.chunks = [Buffer.concat(this.chunks ?? [])];
    return this.chunks[0]!;
  }

  /** Frees the kept bytes of an exchange the store dropped. */
  drop(): void {
    this.chunks = undefined;
  }
}
