import type { EvalScope } from "./cel-compile.js";
import type { ConfigReader } from "./config-reader.js";
import type { RequestContext, ResponseInfo, TcpContext } from "./context.js";
import type { CircuitBreakerTicket, CompressDecision, PolicyLogRecord, PolicyResponse, ResponseBodyEdit } from "./outcome.js";
import type { PolicyPhase } from "./policy-error.js";
import type { RequestView } from "./request-view.js";
import type { PolicyRuntime } from "./runtime.js";

/** What an action tells the chain: go on, or stop with one of the terminal outcomes. */
export type ActionStep =
  | { readonly kind: "next" }
  | { readonly kind: "respond"; readonly response: PolicyResponse }
  | { readonly kind: "forward-internal"; readonly url: string; readonly binding: string | undefined; readonly onError: "halt" | "continue" }
  | { readonly kind: "close" };

export const NEXT: ActionStep = { kind: "next" };

/** The state one phase execution shares between its actions. */
export interface ActionExecution {
  readonly phase: PolicyPhase;
  readonly ctx: RequestContext | TcpContext;
  /** The request, in HTTP phases. */
  readonly view: RequestView | undefined;
  /** The upstream response, in `on_http_response`. */
  readonly response: ResponseInfo | undefined;
  readonly rt: PolicyRuntime;
  readonly signal: AbortSignal | undefined;
  readonly scope: EvalScope;
  readonly logs: PolicyLogRecord[];
  readonly circuitBreakers: CircuitBreakerTicket[];
  compress: CompressDecision | undefined;
  /** Edits of the response body, in order, that the edge applies once it has buffered it (response-body-find-replace). */
  readonly responseBodyEdits: ResponseBodyEdit[];
  /** Publishes `actions.ngrok.<name>` for later expressions. */
  setResult(name: string, value: Record<string, unknown>): void;
}

export interface CompiledAction {
  readonly type: string;
  /** True when every run ends the chain (used by the cloud-policy check and unreachable warnings). */
  readonly alwaysTerminates: boolean;
  /** True when the action reads the request body (see request-body.ts); the edge then offers it. */
  readonly readsRequestBody?: boolean;
  /** True when the action checks client certificates (terminate-tls with mutual TLS): the edge's HTTPS listener then asks for them. */
  readonly requestsClientCertificate?: boolean;
  run(x: ActionExecution): ActionStep | Promise<ActionStep>;
}

/** Where an action sits, for state keyed per action (rate-limit buckets, circuit breakers). */
export interface ActionSite {
  readonly phase: PolicyPhase;
  readonly ruleIndex: number;
  readonly ruleName: string | undefined;
  readonly actionIndex: number;
}

export interface ActionDefinition {
  readonly type: string;
  readonly phases: readonly PolicyPhase[];
  /** Validates and compiles `config`; reports problems through the reader and returns undefined. */
  compile(config: ConfigReader, site: ActionSite): CompiledAction | undefined;
}

export const HTTP_PHASES: readonly PolicyPhase[] = ["on_http_request", "on_http_response"];
export const ALL_PHASES: readonly PolicyPhase[] = ["on_tcp_connect", "on_http_request", "on_http_response"];

/** The headers an action edits: the request's in `on_http_request`, the response's in `on_http_response`. */
export function targetHeaders(x: ActionExecution): Map<string, string[]> {
  if (x.response) return x.response.headers;
  if (x.view) return x.view.request.headers;
  throw new Error(`no headers in ${x.phase}`);
}
