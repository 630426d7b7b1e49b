export { createLogger, silentLogger } from "./logger.js";
export type { LogLevel, Logger } from "./logger.js";
export { createEdgeMetrics } from "./metrics.js";
export type { EdgeMetrics } from "./metrics.js";
