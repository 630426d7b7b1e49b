import { endSpan, SpanKind, traceIdOf, traceparentOf, type Attributes, type CounterSeries, type EdgeMetrics, type HistogramSeries, type Logger, type Span, type Tracing } from "@onramp/telemetry";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Route } from "./dispatch.js";
import { clientIpOf } from "./forwarded-headers.js";

/**
 * What the edge learns about one request on its way through (the exchange's record): the
 * endpoint and member it went to, bytes each way, and its spans when tracing is on. It becomes
 * one access-log line, the per-endpoint metrics and the server span when the response ends.
 */
export class RequestRecord {
  endpoint = "";
  member = "";
  memberEdge = "";
  attempts = 0;
  bytesIn = 0;
  bytesOut = 0;
  /** The edge's server span; undefined when tracing is off. */
  span: Span | undefined;
  /** The span attempts are made under: the server span, or the forward-internal hop being served. */
  hop: Span | undefined;
  /** forward-internal hop spans, ended with the request. */
  hops: Span[] | undefined;

  constructor(
    readonly started: number,
    /** Who writes the record out, and the request it is about, for the response's close listener. */
    readonly telemetry: RequestTelemetry,
    readonly req: IncomingMessage,
  ) {}
}

/** Where a response keeps its record, so one shared close listener (no closure per request) finds it. */
const RECORD = Symbol("onramp.requestRecord");
type RecordOwner = ServerResponse & { [RECORD]?: RequestRecord };

function responseClosed(this: ServerResponse): void {
  const record = (this as RecordOwner)[RECORD];
  if (record) record.telemetry.ended(record.req, this, record);
}

export interface RequestTelemetryOptions {
  /** One `request` line per request at info level. Default true. */
  accessLog: boolean;
}

/**
 * Records every request the edge answers: metrics by endpoint, an access-log line, and, when
 * tracing is on, the spans of the request at this edge (server, policy, forward-internal hops,
 * one client span per attempt, whose traceparent rides in the request head to the agent or the
 * relay). Without tracing nothing here allocates a span or parses a header.
 */
export class RequestTelemetry {
  /** Set when the edge starts (the id is derived from its ports). */
  edgeId = "";
  /** Metric series by endpoint label (bounded by MAX_ENDPOINT_LABELS), found once instead of per request. */
  private readonly series = new Map<string, EndpointSeries>();

  constructor(
    readonly metrics: EdgeMetrics,
    private readonly logger: Logger,
    readonly tracing: Tracing | undefined,
    readonly region: string,
    private readonly options: RequestTelemetryOptions,
  ) {}

  /** Starts recording `req`; the record is written out when `res` closes. */
  begin(req: IncomingMessage, res: ServerResponse): RequestRecord {
    const record = new RequestRecord(performance.now(), this, req);
    if (this.tracing) {
      // Attributes after the decision (samplers do not see them): an unsampled request builds none.
      const span = (record.span = record.hop = this.tracing.start(req.method ?? "GET", SpanKind.SERVER, header(req, "traceparent")));
      if (span.isRecording()) span.setAttributes(this.serverAttributes(req));
    }
    (res as RecordOwner)[RECORD] = record;
    res.on("close", responseClosed);
    return record;
  }

  /** The HTTP semantic conventions and Onramp's attributes of the edge's server span. */
  private serverAttributes(req: IncomingMessage): Attributes {
    const host = req.headers.host ?? "";
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    return {
      "http.request.method": req.method ?? "GET",
      "url.path": q < 0 ? url : url.slice(0, q),
      ...(q < 0 ? {} : { "url.query": url.slice(q + 1) }),
      "url.scheme": "encrypted" in req.socket ? "https" : "http",
      "server.address": host.replace(/:\d+$/, ""),
      "client.address": clientIpOf(req),
      "network.protocol.version": req.httpVersion,
      "user_agent.original": req.headers["user-agent"] ?? "",
      "onramp.edge.id": this.edgeId,
      "onramp.region": this.region,
    };
  }

  /** A span around some work of the request (policy evaluation, a forward-internal hop); undefined without tracing. */
  child(record: RequestRecord, name: string, attributes?: () => Attributes): Span | undefined {
    return this.tracing && record.span ? this.tracing.start(name, SpanKind.INTERNAL, record.hop ?? record.span, attributes) : undefined;
  }

  /** Enters a forward-internal hop: later attempts are made under its span, which ends with the request. */
  hop(record: RequestRecord, name: string, attributes: () => Attributes): void {
    const span = this.child(record, name, attributes);
    // A span that records nothing carries the same context as the current hop: nothing to end.
    if (!span?.isRecording()) return;
    record.hop = span;
    (record.hops ??= []).push(span);
  }

  /**
   * Starts one attempt to `route`'s member: a client span under the current hop, whose
   * traceparent goes in the request head; "" and no span without tracing.
   */
  attempt(record: RecordLike, route: Route, endpointUrl: string): AttemptTrace {
    record.attempts++;
    record.member = route.member.agentId || route.member.id;
    record.memberEdge = route.member.edge;
    if (!this.tracing || !record.hop) return NO_ATTEMPT;
    const relayed = route.member.edge !== "" && route.member.edge !== this.edgeId;
    const span = this.tracing.start(relayed ? "relay" : "forward", SpanKind.CLIENT, record.hop);
    // An unsampled request's attempt is its hop's context, passed on: no span, no attributes.
    if (!span.isRecording()) return { traceparent: traceparentOf(span), end: noEnd };
    span.setAttributes({
      "onramp.endpoint.url": endpointUrl,
      "onramp.pool.member": record.member,
      "onramp.member.edge": record.memberEdge,
      "onramp.attempt": record.attempts,
    });
    return new RecordedAttempt(span);
  }

  /** Writes the record out: called once, when `res` closes. */
  ended(req: IncomingMessage, res: ServerResponse, record: RequestRecord): void {
    const sent = res.getHeader("onramp-error-code");
    // A client that left before the response head gets nginx's 499 in the log and the metrics.
    const errorCode = typeof sent === "string" ? sent.replace(/^ERR_ONRAMP_/, "") : res.headersSent ? "" : "CLIENT_CLOSED";
    const status = res.headersSent ? res.statusCode : 499;
    const seconds = (performance.now() - record.started) / 1000;
    const endpoint = record.endpoint ? this.metrics.endpointLabel(record.endpoint) : "";
    let series = this.series.get(endpoint);
    if (!series) {
      series = new EndpointSeries(this.metrics, endpoint);
      this.series.set(endpoint, series);
    }
    series.count(status, errorCode, seconds);
    if (record.span?.isRecording()) {
      if (record.endpoint) record.span.setAttribute("onramp.endpoint.url", record.endpoint);
      if (record.member) record.span.setAttribute("onramp.pool.member", record.member);
      for (const hop of record.hops ?? []) hop.end();
      endSpan(record.span, res.headersSent ? status : undefined, errorCode || undefined, true);
    }
    if (!this.options.accessLog) return;
    const traceId = record.span ? record.span.spanContext().traceId : traceIdOf(header(req, "traceparent"));
    this.logger.info(
      {
        method: req.method,
        host: req.headers.host,
        path: req.url,
        status,
        duration_ms: Math.round(seconds * 1e6) / 1e3,
        bytes_in: record.bytesIn,
        bytes_out: record.bytesOut,
        edge: this.edgeId,
        region: this.region,
        endpoint: record.endpoint || undefined,
        member: record.member || undefined,
        member_edge: record.memberEdge || undefined,
        attempts: record.attempts || undefined,
        error_code: errorCode || undefined,
        trace_id: traceId || undefined,
        client_ip: clientIpOf(req),
        completed: res.writableFinished,
      },
      "request",
    );
  }
}

/** The part of a record an attempt updates (upgrades keep no full record). */
export type RecordLike = Pick<RequestRecord, "attempts" | "member" | "memberEdge" | "hop">;

export interface AttemptTrace {
  /** For the request head; "" without tracing. */
  readonly traceparent: string;
  end(status: number | undefined, errorCode: string | undefined): void;
}

const noEnd = (): void => undefined;
const NO_ATTEMPT: AttemptTrace = { traceparent: "", end: noEnd };

/** An attempt whose client span is recorded; its traceparent names that span. */
class RecordedAttempt implements AttemptTrace {
  readonly traceparent: string;

  constructor(private readonly span: Span) {
    this.traceparent = traceparentOf(span);
  }

  end(status: number | undefined, errorCode: string | undefined): void {
    endSpan(this.span, status, errorCode, false);
  }
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** One endpoint label's request counters (by status, and error code when there is one) and duration. */
class EndpointSeries {
  private readonly duration: HistogramSeries;
  private readonly outcomes = new Map<number | string, CounterSeries>();

  constructor(
    private readonly metrics: EdgeMetrics,
    private readonly endpoint: string,
  ) {
    this.duration = metrics.requestDuration.labels(endpoint);
  }

  count(status: number, errorCode: string, seconds: number): void {
    const key = errorCode ? `${status} ${errorCode}` : status;
    let requests = this.outcomes.get(key);
    if (!requests) {
      requests = this.metrics.requests.labels({ endpoint: this.endpoint, code: status, error_code: errorCode });
      this.outcomes.set(key, requests);
    }
    requests.inc();
    this.duration.observe(seconds);
  }
}
