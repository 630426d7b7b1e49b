// The open-loop load generator lives with the compose drills (plain JavaScript, so they run with
// nothing but Node); the e2e drills use the same one.
export { percentile, startLoad } from "../../deploy/compose/drills/lib/load.mjs";
export type { LoadOptions, LoadRequest, LoadRun, Sample } from "../../deploy/compose/drills/lib/load.mjs";
