export { Agent, createAgent } from "./agent.js";
export type { AgentEdge, BindOptions, BoundEndpoint } from "./agent.js";
export { isHostHeader, resolveAgentOptions } from "./options.js";
export type { AgentOptions, AgentStatus, HealthCheckOptions, HealthCheckSettings, ResolvedAgentOptions } from "./options.js";
export { normalizeUpstream } from "./upstream.js";
export { AGENT_VERSION } from "./edge-session.js";
export { combineObservers } from "./exchange-observer.js";
export type { ExchangeInfo, ExchangeObserver, ExchangeOutcome, ObserveExchange } from "./exchange-observer.js";
