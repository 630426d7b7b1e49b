/**
 * A connection's open streams by id: open addressing in one array, which is replaced only when it
 * grows (to twice its size, when half full), never when entries come and go.
 *
 * Not a Map, because of what a Map does in V8 when an entry is added and removed per request. Its
 * hash table is rebuilt every few dozen requests (deleted entries fill it), and when the Map is in
 * the old generation the new table is allocated there too; the table it replaces stays in the old
 * generation until the next full GC, still pointing at the streams it held. Every scavenge then
 * kept those streams, and all a stream references (request heads, bodies, exchanges), alive and
 * moved them to the old generation, which filled with them, so full GCs followed one another. A
 * Map created young stays young as long as each table lives shorter than two scavenges, so an
 * edge or agent ran well until its first full GC (about 100 s into a sustained load), and then
 * ran at half the requests/s with several times the p99 for as long as the load lasted; nothing but
 * a restart brought it back. Measured on one edge and agent (2-core VM, repeated 3 s wrk slices):
 * scavenges that freed all but 0.1 MB kept 3-4 MB and promoted 3 MB each, their pauses went from
 * 1-3 ms to 12-18 ms, and p99 went from 11 ms to 25-45 ms.
 */
export class StreamTable<T extends { readonly id: number }> {
  private slots: Array<T | undefined>;
  private mask: number;
  private count = 0;

  /** `capacity`: slots to start with, a power of two (an idle connection holds next to nothing). */
  constructor(capacity = 8) {
    if (capacity < 2 || (capacity & (capacity - 1)) !== 0) throw new RangeError(`capacity must be a power of two ≥ 2, not ${capacity}`);
    this.slots = new Array<T | undefined>(capacity).fill(undefined);
    this.mask = capacity - 1;
  }

  get size(): number {
    return this.count;
  }

  get(id: number): T | undefined {
    const { slots, mask } = this;
    for (let i = home(id, mask); ; i = (i + 1) & mask) {
      const entry = slots[i];
      if (entry === undefined || entry.id === id) return entry;
    }
  }

  /** Adds `entry`, or replaces the entry with its id. */
  set(entry: T): void {
    if (2 * (this.count + 1) > this.slots.length) this.grow();
    const { slots, mask } = this;
    for (let i = home(entry.id, mask); ; i = (i + 1) & mask) {
      const existing = slots[i];
      if (existing === undefined) this.count++;
      else if (existing.id !== entry.id) continue;
      slots[i] = entry;
      return;
    }
  }

  delete(id: number): boolean {
    const { slots, mask } = this;
    let hole = home(id, mask);
    for (;;) {
      const entry = slots[hole];
      if (entry === undefined) return false;
      if (entry.id === id) break;
      hole = (hole + 1) & mask;
    }
    // Backward-shift deletion: entries after the hole that could live there move up, so a lookup
    // never meets a gap before its entry (no tombstones, so the array never needs rebuilding).
    for (let j = (hole + 1) & mask; ; j = (j + 1) & mask) {
      const entry = slots[j];
      if (entry === undefined) break;
      const h = home(entry.id, mask);
      const staysPut = hole <= j ? hole < h && h <= j : hole < h || h <= j;
      if (staysPut) continue;
      slots[hole] = entry;
      hole = j;
    }
    slots[hole] = undefined;
    this.count--;
    return true;
  }

  /** The entries, in no particular order, as an array of their own (the caller may change the table meanwhile). */
  values(): T[] {
    const out: T[] = [];
    for (const entry of this.slots) if (entry !== undefined) out.push(entry);
    return out;
  }

  clear(): void {
    this.slots.fill(undefined);
    this.count = 0;
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Array<T | undefined>(old.length * 2).fill(undefined);
    this.mask = this.slots.length - 1;
    this.count = 0;
    for (const entry of old) if (entry !== undefined) this.set(entry);
    // The old array may be in the old generation: emptied, it keeps no stream alive until a full GC.
    old.fill(undefined);
  }
}

/** Stream ids of one side go up by two: consecutive ids land in consecutive slots. */
function home(id: number, mask: number): number {
  return (id >>> 1) & mask;
}
