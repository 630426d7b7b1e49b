export { loadPolicy } from "./load-policy.js";
export type { LoadPolicyOptions, LoadPolicyResult } from "./load-policy.js";
export { formatPolicyErrors } from "./policy-error.js";
export { DEFAULT_POLICY_LIMITS } from "./policy-limits.js";
export type { PolicyLimits } from "./policy-limits.js";
export type { PolicyError, PolicyPhase } from "./policy-error.js";
export type { Policy, SignalSource } from "./policy.js";
export { createPolicyRuntime, ResponseTooLargeError } from "./runtime.js";
export type { AuthRuntime, OutboundRequest, OutboundResponse, PolicyRuntime } from "./runtime.js";
export { TOR_CATEGORY, createIpIntelligence } from "./ip-intelligence.js";
export type { AutonomousSystem, GeoPlace, GeoipDatabaseFile, IpIntelligence, IpIntelligenceFeatures, IpIntelligenceInit, IpLocation } from "./ip-intelligence.js";
export { parseIpListFile } from "./ip-intelligence-categories.js";
export type { IpPolicyDefinition } from "./ip-intelligence-environment.js";
export { writeMmdb } from "./mmdb-writer.js";
export type { MmdbNetwork, MmdbOptions, MmdbValue } from "./mmdb-writer.js";
export { createSecretStore, secretEnvName } from "./secrets.js";
export type { SecretSources, SecretStore } from "./secrets.js";
export { createMemoryRateLimitStore, slidingWindowDecision } from "./rate-limit-store.js";
export type { MemoryRateLimitStoreOptions, RateLimitDecision, RateLimitStore } from "./rate-limit-store.js";
export { createRequestContext, createTcpContext } from "./context.js";
export type { ConnInfo, EndpointInfo, HttpRequestState, RequestContext, ResponseInfo, TcpContext } from "./context.js";
export { settleCircuitBreakers } from "./outcome.js";
export type { RequestBodySource } from "./context.js";
export type { ConnTls } from "./conn-tls.js";
export type {
  CircuitBreakerTicket,
  CompressDecision,
  PolicyLogRecord,
  PolicyResponse,
  PolicyResponseCode,
  RequestOutcome,
  ResponseBodyEdit,
  ResponseOutcome,
  TcpOutcome,
} from "./outcome.js";
