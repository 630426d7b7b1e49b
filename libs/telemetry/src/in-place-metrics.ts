import { Counter, Histogram } from "prom-client";

/**
 * prom-client's Counter and Histogram, whose children (`labels(...)`) add to their series in
 * place. prom-client's own children hash their label object on every call (a string, a closure
 * and objects per request and metric); these find their series once and then only add numbers,
 * which matters on the request path, where per-request garbage drives GC pauses.
 *
 * They rely on the series store of prom-client 15 (`hashMap`: `{ value, labels }` per counter
 * series, `{ labels, bucketValues, sum, count }` per histogram series); in-place-metrics.test.ts
 * checks the exported text against prom-client's own children, so an upgrade that changes the
 * store fails there. A `reset()` (a registry reset, a census recount) detaches every child; the
 * next add re-creates its series.
 */

/** What a counter child does: add to its series. */
export interface CounterSeries {
  inc(value?: number): void;
}

/** What a histogram child does: count one observation in its series. */
export interface HistogramSeries {
  observe(value: number): void;
}

interface CounterEntry {
  value: number;
}

interface HistogramEntry {
  bucketValues: Record<number, number>;
  sum: number;
  count: number;
}

/** The store prom-client keeps its series in; not part of its typed API. */
interface SeriesStore<E> {
  hashMap: Record<string, E & { labels: object }>;
}

/** The series with exactly this label object, created by `create` when missing. */
function seriesOf<E>(metric: SeriesStore<E>, labels: object, create: () => void): E {
  const find = (): (E & { labels: object }) | undefined => Object.values(metric.hashMap).find((e) => e.labels === labels);
  let entry = find();
  if (!entry) {
    create();
    entry = find();
  }
  if (!entry) throw new Error("prom-client's series store changed: in-place metrics cannot find their series");
  return entry;
}

class InPlaceCounterChild implements CounterSeries {
  entry: CounterEntry | undefined;

  constructor(
    private readonly counter: Counter<string>,
    private readonly labels: Record<string, string>,
  ) {}

  inc(value = 1): void {
    if (!Number.isFinite(value) || value < 0) throw new RangeError(`counter increment must be a finite number ≥ 0, got ${value}`);
    this.entry ??= seriesOf(this.counter as unknown as SeriesStore<CounterEntry>, this.labels, () => this.counter.inc(this.labels, 0));
    this.entry.value += value;
  }
}

export class InPlaceCounter<L extends string = string> extends Counter<L> {
  private readonly children = new Map<string, InPlaceCounterChild>();

  override labels(...values: string[]): CounterSeries;
  override labels(labels: Partial<Record<L, string | number>>): CounterSeries;
  override labels(...args: unknown[]): CounterSeries {
    const labels = labelObject((this as unknown as { labelNames: string[] }).labelNames, args);
    const key = JSON.stringify(labels);
    let child = this.children.get(key);
    if (!child) {
      child = new InPlaceCounterChild(this as unknown as Counter<string>, labels);
      this.children.set(key, child);
    }
    return child;
  }

  override reset(): void {
    super.reset();
    for (const child of this.children?.values() ?? []) child.entry = undefined;
  }
}

class InPlaceHistogramChild implements HistogramSeries {
  entry: HistogramEntry | undefined;

  constructor(
    private readonly histogram: Histogram<string>,
    private readonly upperBounds: readonly number[],
    private readonly labels: Record<string, string>,
  ) {}

  observe(value: number): void {
    if (!Number.isFinite(value)) throw new RangeError(`histogram observation must be a finite number, got ${value}`);
    this.entry ??= seriesOf(this.histogram as unknown as SeriesStore<HistogramEntry>, this.labels, () => this.histogram.zero(this.labels));
    const entry = this.entry;
    entry.sum += value;
    entry.count += 1;
    // As prom-client counts: the first bucket whose bound holds the value; past the last, only
    // the count (+Inf is the count when exported). An index, not for-of: the array iterator
    // survived optimization here and cost ~130 bytes per observation.
    const bounds = this.upperBounds;
    for (let i = 0; i < bounds.length; i++) {
      const bound = bounds[i]!;
      if (value <= bound) {
        entry.bucketValues[bound]! += 1;
        return;
      }
    }
  }

  /** As prom-client's child: observes the seconds until the returned function is called. */
  startTimer(): () => number {
    const started = performance.now();
    return () => {
      const seconds = (performance.now() - started) / 1000;
      this.observe(seconds);
      return seconds;
    };
  }
}

export class InPlaceHistogram<L extends string = string> extends Histogram<L> {
  private readonly children = new Map<string, InPlaceHistogramChild>();

  override labels(...values: string[]): HistogramSeries & ReturnType<Histogram<L>["labels"]>;
  override labels(labels: Partial<Record<L, string | number>>): HistogramSeries & ReturnType<Histogram<L>["labels"]>;
  override labels(...args: unknown[]): HistogramSeries & ReturnType<Histogram<L>["labels"]> {
    const internals = this as unknown as { labelNames: string[]; upperBounds: number[] };
    const labels = labelObject(internals.labelNames, args);
    const key = JSON.stringify(labels);
    let child = this.children.get(key);
    if (!child) {
      child = new InPlaceHistogramChild(this as unknown as Histogram<string>, internals.upperBounds, labels);
      this.children.set(key, child);
    }
    return child as unknown as HistogramSeries & ReturnType<Histogram<L>["labels"]>;
  }

  override reset(): void {
    super.reset();
    for (const child of this.children?.values() ?? []) child.entry = undefined;
  }
}

/** `labels("a", "b")` or `labels({ x: "a", y: 2 })` as one label object, values as given (as prom-client keeps them). */
function labelObject(labelNames: readonly string[], args: unknown[]): Record<string, string> {
  const labels: Record<string, string> = {};
  if (args.length === 1 && typeof args[0] === "object" && args[0] !== null) {
    Object.assign(labels, args[0]);
  } else {
    if (args.length !== labelNames.length) throw new Error(`expected ${labelNames.length} label values, got ${args.length}`);
    labelNames.forEach((name, i) => (labels[name] = args[i] as string));
  }
  for (const name of Object.keys(labels)) {
    if (!labelNames.includes(name)) throw new Error(`unknown label ${name}; the metric's labels are ${labelNames.join(", ")}`);
  }
  return labels;
}
