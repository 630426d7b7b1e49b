import type { OnrampError } from "@onramp/errors";
import { rawHeader, type RequestHeadFields as RequestHead } from "@onramp/mux";
import { endSpan, SpanKind, traceparentOf, type Span, type Tracing } from "@onramp/telemetry";
import type { ExchangeBind } from "./exchange-observer.js";
import type { Upstream } from "./upstream.js";

/** The spans of one exchange at the agent: its server span, and the client span of the call to the upstream. */
export interface ExchangeTrace {
  readonly traceId: string;
  /** The upstream's headers, with a traceparent naming the client span. */
  readonly headers: string[];
  end(status: number | undefined, error: OnrampError | undefined): void;
}

/**
 * Starts the agent's spans for a request: a server span under the edge's span (the head's
 * traceparent, or the client's header when the edge does not trace), and a client span under it
 * for the call to the upstream, which the upstream's traceparent names.
 */
export function traceExchange(tracing: Tracing, head: RequestHead, headers: string[], upstream: Upstream, bind: ExchangeBind): ExchangeTrace {
  const parent = head.traceparent || rawHeader(head.headers, "traceparent");
  // An unsampled trace (most requests at a low sampling rate) costs only passing its context on.
  if (parent && tracing.skips(parent)) return { traceId: parent.slice(3, 35), headers: withTraceparent(headers, parent), end: untraced };
  // Attributes are built only for sampled spans (see Tracing.start).
  const server: Span = tracing.start(head.method, SpanKind.SERVER, parent, () => {
    const [path, query] = splitPath(head.path);
    return {
      "http.request.method": head.method,
      "url.path": path,
      ...(query ? { "url.query": query } : {}),
      "server.address": (rawHeader(headers, "host") ?? "").replace(/:\d+$/, ""),
      "client.address": head.clientAddr.replace(/:\d+$/, ""),
      "onramp.endpoint.url": bind.url,
      "onramp.edge.address": bind.edge,
      "onramp.bind.id": bind.bindId,
    };
  });
  const client: Span = tracing.start(head.method, SpanKind.CLIENT, server, () => ({
    "http.request.method": head.method,
    "url.full": `${upstream.url}${head.path}`,
    "server.address": String(upstream.base.hostname),
    "server.port": Number(upstream.base.port),
  }));
  return {
    traceId: server.spanContext().traceId,
    headers: withTraceparent(headers, traceparentOf(client)),
    end(status, error) {
      endSpan(client, status, error?.code, false);
      endSpan(server, status, error?.code, true);
    },
  };
}

const untraced = () => undefined;

function splitPath(pathAndQuery: string): [string, string] {
  const q = pathAndQuery.indexOf("?");
  return q < 0 ? [pathAndQuery, ""] : [pathAndQuery.slice(0, q), pathAndQuery.slice(q + 1)];
}

/**
 * `headers` with `traceparent` set to `value` (any the client sent replaced), changed in place:
 * callers pass the array made for this request's upstream (no copy per request).
 */
export function withTraceparent(headers: string[], value: string): string[] {
  let found = false;
  for (let i = 0; i + 1 < headers.length; ) {
    const name = headers[i]!;
    if (name.length === 11 && name.toLowerCase() === "traceparent") {
      if (found) {
        headers.splice(i, 2);
        continue;
      }
      headers[i + 1] = value;
      found = true;
    }
    i += 2;
  }
  if (!found) headers.push("traceparent", value);
  return headers;
}
