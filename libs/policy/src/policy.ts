import { ErrorCode, OnrampError } from "@onramp/errors";
import { type ActionExecution, type ActionStep, type CompiledAction, NEXT } from "./action-types.js";
import type { CompiledExpr } from "./cel-compile.js";
import { CelBudgetExceededError } from "./cel-meter.js";
import type { RequestContext, ResponseInfo, TcpContext } from "./context.js";
import { EvaluationError, evaluateExpr } from "./interpolation.js";
import {
  type PolicyLogRecord,
  type RequestOutcome,
  type ResponseOutcome,
  type TcpOutcome,
  engineResponse,
} from "./outcome.js";
import type { PolicyPhase } from "./policy-error.js";
import { RequestBodyError } from "./request-body.js";
import type { VariablePath } from "./cel-path-read.js";
import { RequestView, bindingsMaker } from "./request-view.js";
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
  /**
   * `onHttpRequest` without a promise when none is needed: the outcome itself when every action
   * answered at once (the usual case), a promise only when one waited (JWKS, http-request, a
   * login). What `onHttpRequest` rejects with, this throws or rejects with. A promise and the
   * microtask to read it are a measurable share of a policy's cost per request.
   */
  runHttpRequest(ctx: RequestContext, rt: PolicyRuntime, signal?: SignalSource): RequestOutcome | Promise<RequestOutcome>;
  /** `onHttpResponse` without a promise when none is needed, as `runHttpRequest`. */
  runHttpResponse(ctx: RequestContext, res: ResponseInfo, rt: PolicyRuntime): ResponseOutcome | Promise<ResponseOutcome>;
}

interface Position {
  rule: number;
  action: number;
}

type ChainEnd = { step: ActionStep; at: Position } | undefined;

/**
 * Rules in order from `from`; a rule's actions in order; the first step other than "next" ends the
 * chain. `at` follows the rule and action running, for error reports. Synchronous until an action
 * returns a promise, then asynchronous from there: a phase whose actions all answer at once (the
 * usual case: JWTs verified before, counters in memory) costs no promise, generator or closure of
 * its own. With `syncOnly` (on_tcp_connect) an action that returns a promise is an internal error.
 */
function runChain(rules: readonly CompiledRule[], x: ActionExecution, from: Position, at: Position, syncOnly: boolean): ChainEnd | Promise<ChainEnd> {
  for (let r = from.rule; r < rules.length; r++) {
    const rule = rules[r] as CompiledRule;
    const firstAction = r === from.rule ? from.action : 0;
    at.rule = r;
    at.action = -1;
    if (firstAction === 0 && !allMatch(rule.expressions, x)) continue;
    const actions = rule.actions;
    for (let a = firstAction; a < actions.length; a++) {
      at.action = a;
      const step = (actions[a] as CompiledAction).run(x);
      // Most actions answer NEXT itself: one comparison, before the prototype walk of `instanceof`.
      if (step === NEXT) continue;
      if (step instanceof Promise) {
        if (syncOnly) throw new OnrampError(ErrorCode.Internal, "an asynchronous action ran in on_tcp_connect");
        return resumeAfter(rules, x, at, step);
      }
      if (step.kind !== "next") return { step, at: { rule: r, action: a } };
    }
  }
  return undefined;
}

/** Waits for the action at `at`, then runs the rest of the chain after it. */
async function resumeAfter(rules: readonly CompiledRule[], x: ActionExecution, at: Position, pending: Promise<ActionStep>): Promise<ChainEnd> {
  const step = await pending;
  if (step.kind !== "next") return { step, at: { rule: at.rule, action: at.action } };
  return runChain(rules, x, { rule: at.rule, action: at.action + 1 }, at, false);
}

/** A rule's expressions, all true (AND), evaluated in order until one is not. */
function allMatch(expressions: readonly CompiledExpr[], x: ActionExecution): boolean {
  for (let i = 0; i < expressions.length; i++) if (!matches(expressions[i] as CompiledExpr, x)) return false;
  return true;
}

function matches(expr: CompiledExpr, x: ActionExecution): boolean {
  const v = evaluateExpr(expr, x.scope);
  if (typeof v !== "boolean") throw new EvaluationError(`${expr.source}: must evaluate to a bool, got ${typeof v === "bigint" ? "int" : typeof v}`);
  return v;
}

import { Execution, type ScopeSettings, type SignalSource } from "./execution.js";

export type { SignalSource } from "./execution.js";

export function createPolicy(
  phases: CompiledPhases,
  options: { kind: "agent" | "cloud"; regionName: string; celBudget: number; variablePaths?: ReadonlyMap<string, VariablePath> },
): Policy {
  const settings: ScopeSettings = { regionName: options.regionName, celBudget: options.celBudget, makeBindings: bindingsMaker(options.variablePaths ?? new Map()) };
  const execution = (
    phase: PolicyPhase,
    ctx: RequestContext | TcpContext,
    view: RequestView | undefined,
    res: ResponseInfo | undefined,
    rt: PolicyRuntime,
    source: SignalSource | undefined,
  ): Execution => new Execution(phase, ctx, view, res, rt, source, settings);

  const failure = (x: Execution, at: Position, err: unknown): PolicyLogRecord => {
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

  /** The request phase from `from`: its outcome, a promise of it when an action waited; throws what is not the policy's failure. */
  function runRequest(ctx: RequestContext, rt: PolicyRuntime, signal: SignalSource | undefined, from: Position): RequestOutcome | Promise<RequestOutcome> {
    const x = execution("on_http_request", ctx, new RequestView(ctx.request), undefined, rt, signal);
    const at: Position = { rule: from.rule, action: from.action };
    try {
      const end = runChain(phases.on_http_request, x, from, at, false);
      if (end instanceof Promise) {
        return end.then(
          (e) => requestEnded(ctx, rt, signal, x, e),
          (err: unknown) => requestFailed(x, at, err),
        );
      }
      return requestEnded(ctx, rt, signal, x, end);
    } catch (err) {
      return requestFailed(x, at, err);
    }
  }

  /** `runRequest` as a promise in every case. */
  function requestPromise(ctx: RequestContext, rt: PolicyRuntime, signal: SignalSource | undefined, from: Position): Promise<RequestOutcome> {
    try {
      const out = runRequest(ctx, rt, signal, from);
      return out instanceof Promise ? out : Promise.resolve(out);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** The outcome of a request phase that threw `err`; rethrows what is not the policy's failure (the client left, its body). */
  function requestFailed(x: Execution, at: Position, err: unknown): RequestOutcome {
    if (x.signal?.aborted) throw err;
    if (err instanceof RequestBodyError) throw err.error;
    x.logs.push(failure(x, at, err));
    return { kind: "respond", ...failedResponse(err), logs: x.logs, circuitBreakers: x.tickets };
  }

  function requestEnded(ctx: RequestContext, rt: PolicyRuntime, signal: SignalSource | undefined, x: Execution, end: ChainEnd): RequestOutcome {
    if (!end) return { kind: "continue", logs: x.loggedRecords, circuitBreakers: x.tickets };
    const extras = { logs: x.loggedRecords, circuitBreakers: x.tickets };
    const step = end.step;
    switch (step.kind) {
      case "respond":
        return { kind: "respond", ...step.response, ...extras };
      case "close":
        return { kind: "close", ...extras };
      case "forward-internal": {
        const next = { rule: end.at.rule, action: end.at.action + 1 };
        const resume = step.onError === "continue" ? () => requestPromise(ctx, rt, signal, next) : undefined;
        return { kind: "forward-internal", url: step.url, binding: step.binding, onError: step.onError, resume, ...extras };
      }
      default:
        return { kind: "continue", ...extras };
    }
  }

  /** The response phase: its outcome, a promise of it when an action waited. Never throws. */
  function runResponse(ctx: RequestContext, res: ResponseInfo, rt: PolicyRuntime): ResponseOutcome | Promise<ResponseOutcome> {
    const x = execution("on_http_response", ctx, new RequestView(ctx.request), res, rt, undefined);
    const at: Position = { rule: 0, action: -1 };
    try {
      const end = runChain(phases.on_http_response, x, { rule: 0, action: 0 }, at, false);
      if (end instanceof Promise) return end.then((e) => responseEnded(x, e), (err: unknown) => responseFailed(x, at, err));
      return responseEnded(x, end);
    } catch (err) {
      return responseFailed(x, at, err);
    }
  }

  function responseFailed(x: Execution, at: Position, err: unknown): ResponseOutcome {
    x.logs.push(failure(x, at, err));
    return { kind: "respond", ...failedResponse(err), logs: x.logs };
  }

  function responseEnded(x: Execution, end: ChainEnd): ResponseOutcome {
    if (end?.step.kind === "respond") return { kind: "respond", ...end.step.response, logs: x.loggedRecords };
    if (end?.step.kind === "close") return { kind: "close", logs: x.loggedRecords };
    const bodyEdits = x.bodyEdits;
    if (bodyEdits !== undefined) return { kind: "continue", compress: x.compress, bodyEdits, logs: x.loggedRecords };
    return { kind: "continue", compress: x.compress, logs: x.loggedRecords };
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
        const end = runChain(phases.on_tcp_connect, x, { rule: 0, action: 0 }, at, true) as ChainEnd;
        return { kind: end && end.step.kind !== "next" ? "close" : "allow", logs: x.loggedRecords };
      } catch (err) {
        x.logs.push(failure(x, at, err));
        return { kind: "close", logs: x.logs };
      }
    },

    onHttpRequest(ctx, rt, signal) {
      return requestPromise(ctx, rt, signal, { rule: 0, action: 0 });
    },

    runHttpRequest(ctx, rt, signal) {
      return runRequest(ctx, rt, signal, { rule: 0, action: 0 });
    },

    onHttpResponse(ctx, res, rt) {
      const out = runResponse(ctx, res, rt);
      return out instanceof Promise ? out : Promise.resolve(out);
    },

    runHttpResponse: runResponse,
  };
}
