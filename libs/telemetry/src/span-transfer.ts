import type { Attributes, HrTime, Link, SpanContext, SpanKind, SpanStatus } from "@opentelemetry/api";
import { TraceState, type InstrumentationScope } from "@opentelemetry/core";
import type { Resource } from "@opentelemetry/resources";
import type { ReadableSpan, TimedEvent } from "@opentelemetry/sdk-trace-base";

/**
 * A finished span as plain data (what RecordedSpan hands over), which `postMessage` copies to the
 * export thread as is, and which becomes the SDK's ReadableSpan for its batch processor there.
 */
export interface TransferredSpan {
  name: string;
  kind: SpanKind;
  context: TransferredContext;
  parent: TransferredContext | undefined;
  startTime: HrTime;
  endTime: HrTime;
  duration: HrTime;
  status: SpanStatus;
  attributes: Attributes;
  links: Array<{ context: TransferredContext; attributes: Attributes | undefined; droppedAttributesCount: number | undefined }>;
  events: TimedEvent[];
  droppedAttributesCount: number;
  droppedEventsCount: number;
  droppedLinksCount: number;
  scope: InstrumentationScope;
}

export interface TransferredContext {
  traceId: string;
  spanId: string;
  traceFlags: number;
  isRemote: boolean | undefined;
  /** The W3C `tracestate` value, when there is one. */
  traceState: string | undefined;
}

/** A Resource as plain data: its attributes (already detected) and schema URL. */
export interface TransferredResource {
  attributes: Attributes;
  schemaUrl: string | undefined;
}

export function transferResource(resource: Resource): TransferredResource {
  return { attributes: resource.attributes, schemaUrl: resource.schemaUrl };
}

/** The SDK's view of a finished span, for its processors and exporters; every span of a process shares `resource`. */
export function receiveSpan(s: TransferredSpan, resource: Resource): ReadableSpan {
  const context = receiveContext(s.context);
  const links: Link[] = s.links.map((l) => ({ context: receiveContext(l.context), attributes: l.attributes, droppedAttributesCount: l.droppedAttributesCount }));
  return {
    name: s.name,
    kind: s.kind,
    spanContext: () => context,
    parentSpanContext: s.parent && receiveContext(s.parent),
    startTime: s.startTime,
    endTime: s.endTime,
    duration: s.duration,
    status: s.status,
    attributes: s.attributes,
    links,
    events: s.events,
    ended: true,
    resource,
    instrumentationScope: s.scope,
    droppedAttributesCount: s.droppedAttributesCount,
    droppedEventsCount: s.droppedEventsCount,
    droppedLinksCount: s.droppedLinksCount,
  };
}

function receiveContext(c: TransferredContext): SpanContext {
  return { traceId: c.traceId, spanId: c.spanId, traceFlags: c.traceFlags, isRemote: c.isRemote, traceState: c.traceState ? new TraceState(c.traceState) : undefined };
}
