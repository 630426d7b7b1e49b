/**
 * A small least-recently-used map, for values an action derives from interpolated text (a CIDR, a
 * regular expression, a JWKS cache): computed once per distinct text, never once per request, and
 * bounded so text built from request data cannot grow it without limit.
 */
export class BoundedCache<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(private readonly maxEntries: number) {}

  get size(): number {
    return this.entries.size;
  }

  /** The value for `key`, made by `make` on a miss (and then kept, evicting the oldest entry). */
  getOrMake(key: K, make: () => V): V {
    if (this.entries.has(key)) {
      const hit = this.entries.get(key) as V;
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const value = make();
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, value);
    return value;
  }
}
