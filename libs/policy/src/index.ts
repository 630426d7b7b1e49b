export { loadPolicy } from "./load-policy.js";
export type { LoadPolicyOptions, LoadPolicyResult } from "./load-policy.js";
export { formatPolicyErrors } from "./policy-error.js";
export { DEFAULT_POLICY_LIMITS } from "./policy-limits.js";
export type { PolicyLimits } from "./policy-limits.js";
export type { PolicyError, PolicyPhase } from "./policy-error.js";
export type { Policy } from "./policy.js";
export { createPolicyRuntime } from "./runtime.js";
export type { PolicyRuntime } from "./runtime.js";
export { createMemoryRateLimitStore, slidingWindowDecision } from "./rate-limit-store.js";
export type { MemoryRateLimitStoreOptions, RateLimitDecision, RateLimitStore } from "./rate-limit-store.js";
export { createRequestContext, createTcpContext } from "./context.js";
export type { ConnInfo, EndpointInfo, HttpRequestState, RequestContext, ResponseInfo, TcpContext } from "./context.js";
export { settleCircuitBreakers } from "./outcome.js";
export type {
  CircuitBreakerTicket,
  CompressDecision,
  PolicyLogRecord,
  PolicyResponse,
  PolicyResponseCode,
  RequestOutcome,
  ResponseOutcome,
  TcpOutcome,
} from "./outcome.js";
