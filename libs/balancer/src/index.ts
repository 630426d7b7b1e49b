export { Pool } from "./pool.js";
export type { FailReason, MemberInfo, PickResult, PoolOptions } from "./pool.js";
