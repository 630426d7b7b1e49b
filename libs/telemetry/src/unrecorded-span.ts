import { TraceFlags, type Span, type SpanContext } from "@opentelemetry/api";

/**
 * The span of a request whose trace is not sampled (99 of 100 at a sampling rate of 0.01): it
 * records nothing and only carries the `traceparent` the next hop gets, a flat string made once.
 * Its span context is built only if someone asks for it (a log line's trace id), and every
 * span started under it is itself: a hop that records nothing passes its parent's context on
 * as is, which W3C Trace Context allows.
 */
export class UnrecordedSpan implements Span {
  private context: SpanContext | undefined;

  /** `traceparent` must be valid, version 00, with flags 00. */
  constructor(readonly traceparent: string) {}

  spanContext(): SpanContext {
    const tp = this.traceparent;
    return (this.context ??= { traceId: tp.slice(3, 35), spanId: tp.slice(36, 52), traceFlags: TraceFlags.NONE });
  }

  get traceId(): string {
    return this.context?.traceId ?? this.traceparent.slice(3, 35);
  }

  isRecording(): boolean {
    return false;
  }

  setAttribute(): this {
    return this;
  }

  setAttributes(): this {
    return this;
  }

  addEvent(): this {
    return this;
  }

  addLink(): this {
    return this;
  }

  addLinks(): this {
    return this;
  }

  setStatus(): this {
    return this;
  }

  updateName(): this {
    return this;
  }

  end(): void {}

  recordException(): void {}
}
