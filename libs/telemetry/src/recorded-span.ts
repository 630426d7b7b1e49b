import { SpanStatusCode, TraceFlags, type Attributes, type AttributeValue, type Exception, type HrTime, type Link, type Span, type SpanContext, type SpanKind, type SpanStatus, type TimeInput } from "@opentelemetry/api";
import { hrTime, hrTimeDuration, timeInputToHrTime } from "@opentelemetry/core";
import type { TimedEvent } from "@opentelemetry/sdk-trace-base";
import type { TransferredContext, TransferredSpan } from "./span-transfer.js";

/** Where finished spans go: a batch processor and exporter, in this thread or another. */
export interface SpanSink {
  add(span: TransferredSpan): void;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** The standard attribute limits (`OTEL_SPAN_ATTRIBUTE_*_LIMIT`, else `OTEL_ATTRIBUTE_*_LIMIT`). */
export interface SpanLimits {
  /** Attributes kept per span (and per event or link); more are counted as dropped. Default 128. */
  readonly attributeCount: number;
  /** Characters kept of a string value (each, in an array). Default: all. */
  readonly attributeValueLength: number;
}

export function spanLimits(env: NodeJS.ProcessEnv): SpanLimits {
  const int = (...names: string[]) => {
    for (const name of names) {
      const v = Number.parseInt(env[name] ?? "", 10);
      if (Number.isInteger(v) && v >= 0) return v;
    }
    return undefined;
  };
  return {
    attributeCount: int("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "OTEL_ATTRIBUTE_COUNT_LIMIT") ?? 128,
    attributeValueLength: int("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT") ?? Infinity,
  };
}

const SCOPE = { name: "onramp", version: undefined, schemaUrl: undefined };

/**
 * A sampled span, recorded by Onramp rather than by the SDK's Tracer: the sampling decision is
 * made before a span is made (see Tracing.start), so a span here is always recorded and sampled,
 * and what it records is handed to a SpanSink as plain data when it ends. The SDK's span machinery
 * (contexts, sampler, processors, span objects with a dozen fields) ran only for the few sampled
 * requests, so it stayed cold code, and cost about 50 µs a span at 1% sampling.
 */
export class RecordedSpan implements Span {
  private readonly attributes: Attributes = {};
  private attributeCount = 0;
  private droppedAttributes = 0;
  private events: TimedEvent[] | undefined;
  private links: Link[] | undefined;
  private status: SpanStatus = { code: SpanStatusCode.UNSET };
  private ended = false;
  private readonly startTime: HrTime = hrTime();
  private context: SpanContext | undefined;

  constructor(
    private readonly sink: SpanSink,
    private readonly limits: SpanLimits,
    private name: string,
    private readonly kind: SpanKind,
    readonly traceId: string,
    readonly spanId: string,
    private readonly parent: SpanContext | undefined,
  ) {}

  /** This span as the next hop's parent: `00-<trace id>-<span id>-01`. */
  get traceparent(): string {
    return `00-${this.traceId}-${this.spanId}-01`;
  }

  spanContext(): SpanContext {
    return (this.context ??= { traceId: this.traceId, spanId: this.spanId, traceFlags: TraceFlags.SAMPLED, isRemote: false });
  }

  isRecording(): boolean {
    return !this.ended;
  }

  setAttribute(key: string, value: AttributeValue | undefined): this {
    if (!this.ended) this.put(key, value);
    return this;
  }

  setAttributes(attributes: Attributes): this {
    if (!this.ended) for (const key of Object.keys(attributes)) this.put(key, attributes[key]);
    return this;
  }

  addEvent(name: string, attributesOrTime?: Attributes | TimeInput, time?: TimeInput): this {
    if (this.ended) return this;
    const attributes = isTimeInput(attributesOrTime) ? undefined : attributesOrTime;
    const at = isTimeInput(attributesOrTime) ? attributesOrTime : time;
    const [kept, dropped] = limited(attributes ?? {}, this.limits);
    (this.events ??= []).push({ name, attributes: kept, time: at === undefined ? hrTime() : timeInputToHrTime(at), droppedAttributesCount: dropped });
    return this;
  }

  addLink(link: Link): this {
    if (!this.ended) (this.links ??= []).push(link);
    return this;
  }

  addLinks(links: Link[]): this {
    for (const link of links) this.addLink(link);
    return this;
  }

  setStatus(status: SpanStatus): this {
    // OK is final; UNSET changes nothing (the SDK's rules).
    if (this.ended || this.status.code === SpanStatusCode.OK || status.code === SpanStatusCode.UNSET) return this;
    this.status = status.code === SpanStatusCode.ERROR && status.message !== undefined ? { code: status.code, message: status.message } : { code: status.code };
    return this;
  }

  updateName(name: string): this {
    if (!this.ended) this.name = name;
    return this;
  }

  recordException(exception: Exception, time?: TimeInput): void {
    const attributes: Attributes = {};
    if (typeof exception === "string") attributes["exception.message"] = exception;
    else {
      if (exception.name || exception.code !== undefined) attributes["exception.type"] = exception.name || String(exception.code);
      if (exception.message) attributes["exception.message"] = exception.message;
      if (exception.stack) attributes["exception.stacktrace"] = exception.stack;
    }
    this.addEvent("exception", attributes, time);
  }

  end(endTime?: TimeInput): void {
    if (this.ended) return;
    this.ended = true;
    const end = endTime === undefined ? hrTime() : timeInputToHrTime(endTime);
    this.sink.add({
      name: this.name,
      kind: this.kind,
      context: { traceId: this.traceId, spanId: this.spanId, traceFlags: TraceFlags.SAMPLED, isRemote: false, traceState: undefined },
      parent: this.parent && transferContext(this.parent),
      startTime: this.startTime,
      endTime: end,
      duration: hrTimeDuration(this.startTime, end),
      status: this.status,
      attributes: this.attributes,
      links: (this.links ?? []).map((l) => ({ context: transferContext(l.context), attributes: l.attributes, droppedAttributesCount: l.droppedAttributesCount })),
      events: this.events ?? [],
      droppedAttributesCount: this.droppedAttributes,
      droppedEventsCount: 0,
      droppedLinksCount: 0,
      scope: SCOPE,
    });
  }

  private put(key: string, value: AttributeValue | undefined): void {
    if (!isAttributeValue(value)) return;
    if (!(key in this.attributes)) {
      if (this.attributeCount >= this.limits.attributeCount) {
        this.droppedAttributes++;
        return;
      }
      this.attributeCount++;
    }
    this.attributes[key] = truncated(value, this.limits.attributeValueLength);
  }
}

function transferContext(c: SpanContext): TransferredContext {
  return { traceId: c.traceId, spanId: c.spanId, traceFlags: c.traceFlags, isRemote: c.isRemote, traceState: c.traceState?.serialize() };
}

/** A value OTLP can carry: a string, number or boolean, or an array of one of those (nulls allowed). */
function isAttributeValue(value: unknown): value is AttributeValue {
  if (value === null || value === undefined) return false;
  const t = typeof value;
  if (t === "string" || t === "number" || t === "boolean") return true;
  if (!Array.isArray(value)) return false;
  let kind: string | undefined;
  for (const v of value) {
    if (v === null || v === undefined) continue;
    const vt = typeof v;
    if (vt !== "string" && vt !== "number" && vt !== "boolean") return false;
    if (kind !== undefined && vt !== kind) return false;
    kind = vt;
  }
  return true;
}

function truncated(value: AttributeValue, length: number): AttributeValue {
  if (length === Infinity) return value;
  if (typeof value === "string") return value.length > length ? value.slice(0, length) : value;
  if (Array.isArray(value)) return value.map((v) => (typeof v === "string" && v.length > length ? v.slice(0, length) : v)) as AttributeValue;
  return value;
}

/** `attributes` within the limits, and how many were dropped. */
function limited(attributes: Attributes, limits: SpanLimits): [Attributes, number] {
  const out: Attributes = {};
  let count = 0;
  let dropped = 0;
  for (const key of Object.keys(attributes)) {
    const value = attributes[key];
    if (!isAttributeValue(value)) continue;
    if (count >= limits.attributeCount) dropped++;
    else {
      out[key] = truncated(value, limits.attributeValueLength);
      count++;
    }
  }
  return [out, dropped];
}

function isTimeInput(v: unknown): v is TimeInput {
  return typeof v === "number" || v instanceof Date || (Array.isArray(v) && v.length === 2 && typeof v[0] === "number" && typeof v[1] === "number");
}
