import { ErrorCode, OnrampError } from "@onramp/errors";
import type { Dispatcher } from "undici";
import { upstreamError } from "../upstream.js";
import type { CapturedExchange } from "./captured-exchange.js";
import type { ExchangeStore } from "./exchange-store.js";
import { editedHeaders, type ReplayEdits } from "./replay-request.js";

export interface ReplayContext {
  store: ExchangeStore;
  /** Owned by the inspector; destroying it on close ends every replay in flight. */
  dispatcher: Dispatcher;
  /** Time the upstream has to send its response head, in ms. */
  timeoutMs: number;
  /** Who asked (the API client), shown as the replay's remote address. */
  clientAddr: string;
}

/**
 * Sends a captured request again, straight to its endpoint's upstream as ngrok does (not through
 * the edge, so no traffic policy applies), with `edits` applied, and records it as a new exchange
 * marked as a replay of the original. Returns that exchange at once; its response fills in later.
 * A body cut at capture is sent only when `edits` replace it: a partial body would be a
 * different request.
 */
export function startReplay(original: CapturedExchange, edits: ReplayEdits, context: ReplayContext): CapturedExchange {
  const { request } = original;
  if (edits.body === undefined && request.body.truncated) {
    throw new OnrampError(ErrorCode.InvalidArgument, `replay: the request body was cut at ${request.body.kept} of ${request.body.seen} bytes when captured; replay it with an edited body`);
  }
  const body = edits.body !== undefined ? Buffer.from(edits.body, "utf8") : request.body.bytes();
  const method = edits.method ?? request.method;
  const path = edits.path ?? request.path;
  const headers = editedHeaders(request.headers, edits.headers);
  // undici would add it anyway; written here, the recorded request shows it as sent.
  if (body.length > 0) headers.push("content-length", String(body.length));
  const { exchange, observer } = context.store.begin(
    { endpointUrl: original.endpointUrl, bindId: original.bindId, upstream: original.upstream, method, path, headers, clientAddr: context.clientAddr, startedAt: Date.now() },
    original.id,
  );
  if (body.length > 0) observer.requestBody?.(body);
  const started = performance.now();
  let status: number | undefined;
  let responseBytes = 0;
  const end = (error: OnrampError | undefined) =>
    observer.end({ status, error, durationMs: performance.now() - started, requestBytes: body.length, responseBytes });

  const options = { origin: original.upstream, method, path, headers, body: body.length > 0 ? body : null, headersTimeout: context.timeoutMs, bodyTimeout: 0 };
  try {
    context.dispatcher.dispatch(options, {
      // undici takes a handler as one of this API (not the legacy one) by this method.
      onRequestStart() {},
      onResponseStart(c, statusCode, _parsed, statusMessage) {
        if (statusCode < 200) return;
        status = statusCode;
        observer.response?.(statusCode, statusMessage ?? "", rawPairs(c.rawHeaders));
      },
      onResponseData(_c, chunk) {
        responseBytes += chunk.length;
        observer.responseBody?.(chunk);
      },
      onResponseEnd() {
        end(undefined);
      },
      onResponseError(_c, err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === "UND_ERR_HEADERS_TIMEOUT") end(new OnrampError(ErrorCode.UpstreamTimeout, `the upstream ${original.upstream} sent no response within ${context.timeoutMs} ms`, { cause: err }));
        else if (status !== undefined) end(new OnrampError(ErrorCode.UpstreamError, "the upstream connection broke mid-response", { cause: err }));
        else end(upstreamError(err as NodeJS.ErrnoException, original.upstream));
      },
    });
  } catch (err) {
    // undici refused the request before sending it (a closed dispatcher): the replay failed.
    end(OnrampError.from(err, ErrorCode.Internal));
  }
  return exchange;
}

function rawPairs(raw: Dispatcher.DispatchController["rawHeaders"]): string[] {
  if (!raw) return [];
  if (Array.isArray(raw)) return raw.map((v) => (typeof v === "string" ? v : v.toString("latin1")));
  return Object.entries(raw).flatMap(([name, value]) => ([] as string[]).concat(value ?? []).map((v) => [name, v]).flat());
}
