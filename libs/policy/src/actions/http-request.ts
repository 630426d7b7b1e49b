import type { ActionDefinition, ActionExecution } from "../action-types.js";
import { type CompiledExpr, compileExpression } from "../cel-compile.js";
import { INT, STRING, type Ty, listOf, mapOf, record } from "../cel-types.js";
import { ConfigReader, readString } from "../config-reader.js";
import { EvaluationError, type Template } from "../interpolation.js";
import { engineResponse } from "../outcome.js";
import { withVariables } from "../request-view.js";
import { type OutboundRequest, type OutboundResponse, ResponseTooLargeError } from "../runtime.js";

const METHODS = ["GET", "PUT", "POST", "PATCH", "DELETE", "OPTIONS"];
/** 256 KiB, ngrok's limit: the body is held in memory and exposed to CEL, once per attempt. */
export const HTTP_REQUEST_MAX_BODY_BYTES = 256 * 1024;
/** ngrok retries at most 3 times, whatever `retry_condition` says. */
const MAX_RETRIES = 3;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

const HEADERS: Ty = mapOf(STRING, listOf(STRING));
const REQ: Ty = record("http_request.req", { method: STRING, url: STRING, header: HEADERS, body: STRING });
const RES: Ty = record("http_request.res", { status_code: INT, header: HEADERS, body: STRING, time_ms: INT, resolved_ip: STRING });
/** The variables `retry_condition` sees besides the phase's: ngrok's `attempts` and `last_attempt`. */
const RETRY_LOCALS: ReadonlyMap<string, Ty> = new Map([
  ["attempts", INT],
  ["last_attempt", record("last_attempt", { req: REQ, res: RES, error: STRING })],
]);

/** Why a URL may not be called, or undefined. `*.internal` names Onramp's internal endpoints, which the edge never calls on a policy's behalf. */
export function outboundUrlProblem(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return "is not a valid URL";
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") return `must be an http(s) URL, not ${u.protocol}`;
  const host = u.hostname.toLowerCase().replace(/\.$/, "");
  if (host === "internal" || host.endsWith(".internal")) return "may not name an internal endpoint (*.internal); forward-internal reaches those";
  return undefined;
}

type Failure = { readonly code: string; readonly message: string };
class ActionFailure extends Error {
  constructor(readonly failure: Failure) {
    super(failure.message);
  }
}

/** Where a URL points, without path or query (which may carry interpolated secrets). */
const originOf = (url: string): string => URL.parse(url)?.origin ?? "the target";

interface QueryParam {
  readonly key: Template;
  readonly value: Template;
}

/**
 * `http-request`: calls an HTTP service and records the exchange in `actions.ngrok.http_request`
 * (`req`, `res`, `attempts`, `error`). A response of any status is a success; the call fails on a
 * connection error, the `timeout` (which covers every attempt and redirect), a body over 256 KiB,
 * too many redirects or a refused URL. `on_error: continue` (ngrok's default) records the error
 * and goes on; `halt` answers 502 with `Onramp-Error-Code: ERR_ONRAMP_HTTP_REQUEST_FAILED`.
 * The URL is the policy author's choice: the edge calls what it is told, except `*.internal`.
 */
export const httpRequest: ActionDefinition = {
  type: "http-request",
  phases: ["on_http_request", "on_http_response"],
  compile(config) {
    const urlNode = config.node("url", true);
    const url = config.template("url", { required: true });
    const method = config.string("method", { oneOf: METHODS }) ?? "GET";
    const query: QueryParam[] = [];
    for (const item of config.list("query_params", { max: 32 }) ?? []) {
      const entry = ConfigReader.of(config.cx, item.cursor, item.value);
      const key = entry?.template("key", { required: true });
      const value = entry?.template("value", { required: true });
      entry?.finish();
      if (key && value) query.push({ key, value });
    }
    const headersNode = config.node("headers");
    const headers = config.templateMap("headers") ?? [];
    if (headers.length > 10) headersNode?.cursor.error("must have at most 10 entries");
    const bodyNode = config.node("body");
    const body = config.template("body");
    if (body && method === "GET") bodyNode?.cursor.error("a GET request has no body; use POST, PUT, PATCH or DELETE");
    // 0: ngrok does not follow redirects unless asked; each hop is checked like the first URL.
    const maxRedirects = config.int("max_redirects", { min: 0, max: 10 }) ?? 0;
    // 3 s: ngrok's default; a policy step should not hold a request for the client's whole timeout.
    const timeoutMs = config.duration("timeout", { min: 1_000, max: 30_000 }) ?? 3_000;
    const retryNode = config.node("retry_condition");
    let retry: CompiledExpr | undefined;
    if (retryNode) {
      const text = readString(retryNode.cursor, retryNode.value);
      const r = text === undefined ? undefined : compileExpression(config.cx.cel, text, config.cx.phase, "bool", RETRY_LOCALS);
      if (r?.ok) retry = r.expr;
      else for (const p of r?.problems ?? []) retryNode.cursor.error(p.message, p.offset);
    }
    const onError = config.string("on_error", { oneOf: ["halt", "continue"] }) ?? "continue";
    config.finish();
    if (!url) return undefined;
    if (url.constant !== undefined) {
      const problem = outboundUrlProblem(url.constant);
      if (problem) urlNode?.cursor.error(problem);
      if (problem) return undefined;
    }

    const buildRequest = (x: ActionExecution): OutboundRequest => {
      const target = URL.parse(url.render(x.scope));
      if (!target) throw new ActionFailure({ code: "invalid_url", message: "the url is not a valid URL" });
      for (const p of query) {
        const [k, v] = [p.key.render(x.scope), p.value.render(x.scope)];
        if (k.length > 128 || v.length > 8192) throw new ActionFailure({ code: "invalid_query_param", message: "a query parameter is too long (key 128, value 8192 characters)" });
        target.searchParams.append(k, v);
      }
      const out: Array<[string, string]> = headers.map(({ value: [name, t] }) => [name.toLowerCase(), t.render(x.scope)]);
      if (!out.some(([n]) => n === "user-agent")) out.push(["user-agent", "Onramp/http-request"]);
      if (x.ctx.conn.clientIp && !out.some(([n]) => n === "x-forwarded-for")) out.push(["x-forwarded-for", x.ctx.conn.clientIp]);
      return { method, url: target.href, headers: out, body: body?.render(x.scope), maxBodyBytes: HTTP_REQUEST_MAX_BODY_BYTES };
    };

    return {
      type: "http-request",
      alwaysTerminates: false,
      async run(x) {
        const deadline = AbortSignal.timeout(timeoutMs);
        const signal = x.signal ? AbortSignal.any([x.signal, deadline]) : deadline;
        let req: OutboundRequest | undefined;
        let res: (OutboundResponse & { timeMs: number }) | undefined;
        let failure: Failure | undefined;
        const attempts: Array<Record<string, unknown>> = [];
        try {
          req = buildRequest(x);
        } catch (err) {
          if (!(err instanceof ActionFailure)) throw err;
          failure = err.failure;
        }
        for (let n = 1; req && n <= MAX_RETRIES + 1; n++) {
          failure = undefined;
          res = undefined;
          const started = x.rt.now();
          try {
            res = { ...(await send(x, req, maxRedirects, signal)), timeMs: x.rt.now() - started };
            attempts.push({ resolved_ip: "", response_header: res.headers, response_status_code: BigInt(res.status), response_time_ms: BigInt(res.timeMs) });
          } catch (err) {
            if (x.signal?.aborted) throw err;
            failure = describe(err, req.url, deadline.aborted, timeoutMs);
            attempts.push({ resolved_ip: "", response_header: new Map(), response_status_code: 0n, response_time_ms: BigInt(x.rt.now() - started), error: failure.message });
          }
          if (!retry || n > MAX_RETRIES || deadline.aborted) break;
          const last = { req: reqValue(req), error: failure?.message ?? "", ...(res ? { res: resValue(res) } : {}) };
          const scope = { bindings: withVariables(x.scope.bindings, { attempts: BigInt(n), last_attempt: last }), macros: x.scope.macros, meter: x.scope.meter };
          if (retry.evaluate(scope) !== true) break;
        }
        x.setResult("http_request", {
          attempts,
          ...(req ? { req: reqValue(req) } : {}),
          ...(res ? { res: resValue(res) } : {}),
          ...(failure ? { error: { code: failure.code, message: failure.message } } : {}),
        });
        if (!failure || onError === "continue") return { kind: "next" };
        return { kind: "respond", response: engineResponse(502, "HTTP_REQUEST_FAILED", "A request the traffic policy depends on failed.") };
      },
    };
  },
};

function reqValue(req: OutboundRequest): Record<string, unknown> {
  const header = new Map<string, string[]>();
  for (const [k, v] of req.headers) header.set(k, [...(header.get(k) ?? []), v]);
  return { method: req.method, url: req.url, header, body: req.body ?? "" };
}

function resValue(res: OutboundResponse & { timeMs: number }): Record<string, unknown> {
  return { status_code: BigInt(res.status), header: res.headers, body: res.body, time_ms: BigInt(res.timeMs), resolved_ip: "" };
}

/** One attempt: the request, then each redirect allowed, each target checked like the first. */
async function send(x: ActionExecution, first: OutboundRequest, maxRedirects: number, signal: AbortSignal): Promise<OutboundResponse> {
  let req = first;
  for (let hop = 0; ; hop++) {
    const problem = outboundUrlProblem(req.url);
    if (problem) throw new ActionFailure({ code: "url_not_allowed", message: `the url ${problem}` });
    const res = await x.rt.httpRequest(req, signal);
    const location = res.headers.get("location")?.[0];
    if (maxRedirects === 0 || !REDIRECTS.has(res.status) || location === undefined) return res;
    if (hop >= maxRedirects) throw new ActionFailure({ code: "too_many_redirects", message: `more than ${maxRedirects} redirects` });
    const next = URL.parse(location, req.url);
    if (!next) throw new ActionFailure({ code: "invalid_redirect", message: "a redirect's Location is not a valid URL" });
    // As browsers and fetch do: 303, and 301/302 after a POST, continue as a GET without a body.
    const toGet = res.status === 303 || ((res.status === 301 || res.status === 302) && req.method === "POST");
    req = { ...req, url: next.href, ...(toGet ? { method: "GET", body: undefined } : {}) };
  }
}

/** A failure for `error.code`/`error.message`: never the URL's path or query, which may hold secrets. */
function describe(err: unknown, url: string, timedOut: boolean, timeoutMs: number): Failure {
  if (err instanceof ActionFailure) return err.failure;
  if (timedOut) return { code: "timeout", message: `no response from ${originOf(url)} within ${timeoutMs / 1000}s` };
  if (err instanceof ResponseTooLargeError) return { code: "response_too_large", message: `response size exceeded: the body is over ${HTTP_REQUEST_MAX_BODY_BYTES} bytes` };
  if (err instanceof EvaluationError) throw err;
  const cause = (err as { cause?: { code?: unknown } })?.cause?.code;
  return { code: "request_failed", message: `the request to ${originOf(url)} failed${typeof cause === "string" ? ` (${cause})` : ""}` };
}
