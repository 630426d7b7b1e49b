/**
 * A read-only Map whose values are computed on every `get`. CEL (@bufbuild/cel) turns a plain
 * object into a map with `Object.entries`, which runs every getter: reading `req.url.path` would
 * build the full URL, parse the query and the cookies. Given a Map, it looks up only the key an
 * expression reads. Values are not cached, so they always reflect the request as actions have
 * left it so far.
 */
export class LazyRecord extends Map<string, unknown> {
  private readonly getters: Readonly<Record<string, () => unknown>>;

  constructor(getters: Record<string, () => unknown>) {
    super();
    this.getters = getters;
  }

  override get(key: string): unknown {
    const getter = this.getters[key];
    return getter ? getter() : undefined;
  }

  override has(key: string): boolean {
    return Object.hasOwn(this.getters, key);
  }

  override get size(): number {
    return Object.keys(this.getters).length;
  }

  override keys(): MapIterator<string> {
    return Object.keys(this.getters)[Symbol.iterator]();
  }

  override *entries(): MapIterator<[string, unknown]> {
    for (const key of Object.keys(this.getters)) yield [key, this.get(key)];
  }

  override *values(): MapIterator<unknown> {
    for (const key of Object.keys(this.getters)) yield this.get(key);
  }

  override [Symbol.iterator](): MapIterator<[string, unknown]> {
    return this.entries();
  }

  override forEach(callback: (value: unknown, key: string, map: Map<string, unknown>) => void): void {
    for (const [key, value] of this.entries()) callback(value, key, this);
  }
}
