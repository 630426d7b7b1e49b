import { ErrorCode, OnrampError } from "@onramp/errors";
import type { ActionExecution, ActionStep, CompiledAction } from "./action-types.js";
import type { CompiledExpr, EvalScope } from "./cel-compile.js";
import { CelBudgetExceededError, CelMeter } from "./cel-meter.js";
import type { RequestContext, ResponseInfo, TcpContext } from "./context.js";
import { EvaluationError, evaluateExpr } from "./interpolation.js";
import {
  type CircuitBreakerTicket,
  type CompressDecision,
  type PolicyLogRecord,
  type ResponseBodyEdit,
  type RequestOutcome,
  type ResponseOutcome,
  type TcpOutcome,
  engineResponse,
} from "./outcome.js";
import type { PolicyPhase } from "./policy-error.js";
import { RequestBodyError } from "./request-body.js";
import { RequestView, buildBindings } from "./request-view.js";
import type { PolicyRuntime } from "./runtime.js";

export interface CompiledRule {
  readonly index: number;
  readonly name: string | undefined;
  /** All must be true (AND); none means the rule always applies. */
  readonly expressions: readonly CompiledExpr[];
  readonly actions: readonly CompiledAction[];
}

export type CompiledPhases = Readonly<Record<PolicyPhase, readonly CompiledRule[]>>;

/**
 * A loaded, validated, compiled policy. Stateless per request except for what actions keep by
 * design (circuit breakers, JWKS caches); reuse one instance for every request of a policy version.
 */
export interface Policy {
  readonly kind: "agent" | "cloud";
  /** Number of rules in each phase; a phase with none costs nothing to run. */
  readonly ruleCounts: Readonly<Record<PolicyPhase, number>>;
  /**
   * True when an `on_http_request` action reads the body (verify-webhook, jwt-validation with
   * `method: body`, request-body-find-replace): the edge then offers it (`HttpRequestState.body`),
   * read only if such an action runs. False: bodies stream through untouched.
   */
  readonly needsRequestBody: boolean;
  /** True when an `on_tcp_connect` action checks client certificates (terminate-tls): the HTTPS listener must ask clients for one. */
  readonly requestsClientCertificates: boolean;
  /** Runs `on_tcp_connect`; only synchronous actions are allowed there, so no promise. */
  onTcpConnect(ctx: TcpContext, rt: PolicyRuntime): TcpOutcome;
  /**
   * Runs `on_http_request`, editing `ctx.request` in place. `signal` aborts waits (JWKS, an
   * http-request, a login); as a function, it is called only when an action needs the signal
   * (an AbortController per request is a measurable cost on the request path).
   */
  onHttpRequest(ctx: RequestContext, rt: PolicyRuntime, signal?: SignalSource): Promise<RequestOutcome>;
  /** Runs `on_http_response`, editing `res.headers` in place. */
  onHttpResponse(ctx: RequestContext, res: ResponseInfo, rt: PolicyRuntime): Promise<ResponseOutcome>;
}

interface Position {
  rule: number;
  action: number;
}

type Chain = Generator<Promise<ActionStep>, { step: ActionStep; at: Position } | undefined, ActionStep>;

/**
 * Rules in order; a rule's actions in order; the first step other than "next" ends the chain.
 * A generator, so one implementation serves the synchronous TCP phase and the asynchronous HTTP
 * phases: an action that returns a promise is yielded to the driver, which awaits it.
 */
function* runChain(rules: readonly CompiledRule[], x: ActionExecution, from: Position, at: Position): Chain {
  for (let r = from.rule; r < rules.length; r++) {
    const rule = rules[r] as CompiledRule;
    const firstAction = r === from.rule ? from.action : 0;
    at.rule = r;
    at.action = -1;
    if (firstAction === 0 && !rule.expressions.every((e) => matches(e, x))) continue;
    for (let a = firstAction; a < rule.actions.length; a++) {
      at.action = a;
      const pending = (rule.actions[a] as CompiledAction).run(x);
      const step = pending instanceof Promise ? yield pending : pending;
      if (step.kind !== "next") return { step, at: { rule: r, action: a } };
    }
  }
  return undefined;
}

function matches(expr: CompiledExpr, x: ActionExecution): boolean {
  const v = evaluateExpr(expr, x.scope);
  if (typeof v !== "boolean") throw new EvaluationError(`${expr.source}: must evaluate to a bool, got ${typeof v === "bigint" ? "int" : typeof v}`);
  return v;
}

type ChainEnd = { step: ActionStep; at: Position } | undefined;

/**
 * Runs the chain synchronously until an action returns a promise, then asynchronously: a phase
 * whose actions all answer at once (the usual case: JWTs verified before, counters in memory)
 * costs no promise of its own.
 */
function drive(chain: Chain): ChainEnd | Promise<ChainEnd> {
  const r = chain.next(undefined as never);
  return r.done ? r.value : driveFrom(chain, r.value);
}

async function driveFrom(chain: Chain, pending: Promise<ActionStep>): Promise<ChainEnd> {
  let r = chain.next(await pending);
  while (!r.done) r = chain.next(await r.value);
  return r.value;
}

/** An AbortSignal, or a function that makes one when an action first needs it. */
export type SignalSource = AbortSignal | (() => AbortSignal);

/**
 * One phase execution's state. A class, not an object literal: every action reads it, and its
 * lazy `signal` is a getter on the prototype, which keeps the instances' shape fast (a getter in
 * an object literal made every execution a slow object: -12% requests/s with a policy).
 */
class Execution implements ActionExecution {
  readonly logs: PolicyLogRecord[] = [];
  readonly circuitBreakers: CircuitBreakerTicket[] = [];
  compress: CompressDecision | undefined = undefined;
  readonly responseBodyEdits: ResponseBodyEdit[] = [];
  private made: AbortSignal | undefined = undefined;

  constructor(
    readonly phase: PolicyPhase,
    readonly ctx: RequestContext | TcpContext,
    readonly view: RequestView | undefined,
    readonly response: ResponseInfo | undefined,
    readonly rt: PolicyRuntime,
    private readonly source: SignalSource | undefined,
    readonly scope: EvalScope,
  ) {}

  get signal(): AbortSignal | undefined {
    const { source } = this;
    return typeof source === "function" ? (this.made ??= source()) : source;
  }

  setResult(name: string, value: Record<string, unknown>): void {
    this.ctx.actionResults.set(name, value);
  }
}

export function createPolicy(
  phases: CompiledPhases,
  options: { kind: "agent" | "cloud"; regionName: string; celBudget: number },
): Policy {
  const execution = (
    phase: PolicyPhase,
    ctx: RequestContext | TcpContext,
    view: RequestView | undefined,
    res: ResponseInfo | undefined,
    rt: PolicyRuntime,
    source: SignalSource | undefined,
  ): ActionExecution =>
    new Execution(phase, ctx, view, res, rt, source, {
      bindings: buildBindings(ctx, view, res, () => rt.now(), options.regionName, rt.ipIntelligence),
      macros: { request: view, response: res },
      meter: new CelMeter(options.celBudget),
    });

  const failure = (x: ActionExecution, at: Position, err: unknown): PolicyLogRecord => {
    const rule = phases[x.phase][at.rule];
    const where = at.action < 0 ? "expressions" : `actions[${at.action}]`;
    const message =
      err instanceof EvaluationError || err instanceof CelBudgetExceededError
        ? err.message
        : `internal error: ${err instanceof Error ? err.message : String(err)}`;
    return { kind: "evaluation-error", phase: x.phase, ruleIndex: at.rule, ruleName: rule?.name, message: `${where}: ${message}` };
  };

  const evaluationFailed = engineResponse(500, "INTERNAL", "The traffic policy could not be evaluated for this request.");
  const overBudget = engineResponse(500, "POLICY_BUDGET_EXCEEDED", "The traffic policy needed more work for this request than its budget allows.");
  /** The answer to a request whose policy threw `err`: over budget, or failed. */
  const failedResponse = (err: unknown) => (err instanceof CelBudgetExceededError ? overBudget : evaluationFailed);

  function runRequest(ctx: RequestContext, rt: PolicyRuntime, signal: SignalSource | undefined, from: Position): Promise<RequestOutcome> {
    const x = execution("on_http_request", ctx, new RequestView(ctx.request), undefined, rt, signal);
    const at: Position = { rule: from.rule, action: from.action };
    try {
      const end = drive(runChain(phases.on_http_request, x, from, at));
      if (end instanceof Promise) {
        return end.then(
          (e) => requestEnded(ctx, rt, signal, x, e),
          (err: unknown) => requestFailed(x, at, err),
        );
      }
      return Promise.resolve(requestEnded(ctx, rt, signal, x, end));
    } catch (err) {
      try {
        return Promise.resolve(requestFailed(x, at, err));
      } catch (thrown) {
        return Promise.reject(thrown);
      }
    }
  }

  /** The outcome of a request phase that threw `err`; rethrows what is not the policy's failure (the client left, its body). */
  function requestFailed(x: ActionExecution, at: Position, err: unknown): RequestOutcome {
    if (x.signal?.aborted) throw err;
    if (err instanceof RequestBodyError) throw err.error;
    x.logs.push(failure(x, at, err));
    return { kind: "respond", ...failedResponse(err), logs: x.logs, circuitBreakers: x.circuitBreakers };
  }

  function requestEnded(ctx: RequestContext, rt: PolicyRuntime, signal: SignalSource | undefined, x: ActionExecution, end: ChainEnd): RequestOutcome {
    const extras = { logs: x.logs, circuitBreakers: x.circuitBreakers };
    if (!end) return { kind: "continue", ...extras };
    const step = end.step;
    switch (step.kind) {
      case "respond":
        return { kind: "respond", ...step.response, ...extras };
      case "close":
        return { kind: "close", ...extras };
      case "forward-internal": {
        const next = { rule: end.at.rule, action: end.at.action + 1 };
        const resume = step.onError === "continue" ? () => runRequest(ctx, rt, signal, next) : undefined;
        return { kind: "forward-internal", url: step.url, binding: step.binding, onError: step.onError, resume, ...extras };
      }
      default:
        return { kind: "continue", ...extras };
    }
  }

  function responseEnded(x: ActionExecution, end: ChainEnd): ResponseOutcome {
    if (end?.step.kind === "respond") return { kind: "respond", ...end.step.response, logs: x.logs };
    if (end?.step.kind === "close") return { kind: "close", logs: x.logs };
    return { kind: "continue", compress: x.compress, ...(x.responseBodyEdits.length > 0 ? { bodyEdits: x.responseBodyEdits } : {}), logs: x.logs };
  }

  return {
    kind: options.kind,
    ruleCounts: {
      on_tcp_connect: phases.on_tcp_connect.length,
      on_http_request: phases.on_http_request.length,
      on_http_response: phases.on_http_response.length,
    },
    needsRequestBody: phases.on_http_request.some((rule) => rule.actions.some((a) => a.readsRequestBody === true)),
    requestsClientCertificates: phases.on_tcp_connect.some((rule) => rule.actions.some((a) => a.requestsClientCertificate === true)),

    onTcpConnect(ctx, rt) {
      const x = execution("on_tcp_connect", ctx, undefined, undefined, rt, undefined);
      const at: Position = { rule: 0, action: -1 };
      try {
        const r = runChain(phases.on_tcp_connect, x, { rule: 0, action: 0 }, at).next(undefined as never);
        if (!r.done) throw new OnrampError(ErrorCode.Internal, "an asynchronous action ran in on_tcp_connect");
        return { kind: r.value && r.value.step.kind !== "next" ? "close" : "allow", logs: x.logs };
      } catch (err) {
        x.logs.push(failure(x, at, err));
        return { kind: "close", logs: x.logs };
      }
    },

    onHttpRequest(ctx, rt, signal) {
      return runRequest(ctx, rt, signal, { rule: 0, action: 0 });
    },

    onHttpResponse(ctx, res, rt) {
      const x = execution("on_http_response", ctx, new RequestView(ctx.request), res, rt, undefined);
      const at: Position = { rule: 0, action: -1 };
      const failed = (err: unknown): ResponseOutcome => {
        x.logs.push(failure(x, at, err));
        return { kind: "respond", ...failedResponse(err), logs: x.logs };
      };
      try {
        const end = drive(runChain(phases.on_http_response, x, { rule: 0, action: 0 }, at));
        if (end instanceof Promise) return end.then((e) => responseEnded(x, e), failed);
        return Promise.resolve(responseEnded(x, end));
      } catch (err) {
        return Promise.resolve(failed(err));
      }
    },
  };
}
