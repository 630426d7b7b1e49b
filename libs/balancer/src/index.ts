export { Pool } from "./pool.js";
export { OutlierDetector } from "./outlier-detector.js";
export type { MemberInfo, Tier } from "./member.js";
export type { MemberSnapshot } from "./member-state.js";
export type { OutlierOptions, PoolOptions } from "./options.js";
export type { Ejection, RequestResult } from "./outlier-detector.js";
export type { FailReason, PickResult, QueueReason } from "./pick-result.js";
