/** The fields of a `LazyRecord`: each computes its value from the record's source when read. */
export type LazyFields<S> = Readonly<Record<string, (source: S) => unknown>>;

/**
 * A read-only Map whose values are computed on every `get`. CEL (@bufbuild/cel) turns a plain
 * object into a map with `Object.entries`, which runs every getter: reading `req.url.path` would
 * build the full URL, parse the query and the cookies. Given a Map, it looks up only the key an
 * expression reads. Values are not cached, so they always reflect the request as actions have
 * left it so far.
 *
 * The getters take the record's `source`, so a table of them can be a module constant shared by
 * every request (`lazyRecord(URL_FIELDS, view)`): building the variables of a request then costs
 * one object per record instead of a closure per field (a measurable share of a policy's cost).
 */
export class LazyRecord extends Map<string, unknown> {
  private readonly getters: LazyFields<unknown>;
  private readonly source: unknown;

  /** `getters` closing over what they read; `lazyRecord` for a shared table and a source. */
  constructor(getters: LazyFields<never>, source?: unknown) {
    super();
    this.getters = getters as LazyFields<unknown>;
    this.source = source;
  }

  override get(key: string): unknown {
    const getter = this.getters[key];
    return getter ? getter(this.source) : undefined;
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

/** A record whose fields read `source`; `fields` is typically a module constant. */
export function lazyRecord<S>(fields: LazyFields<S>, source: S): LazyRecord {
  return new LazyRecord(fields, source);
}
