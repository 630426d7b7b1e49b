// A drill's figures, the goals and the table live with the compose drills (plain JavaScript, so
// they run with nothing but Node); the e2e drills use the same ones.
export { atMostOnePerMille, measure, noneFailed, noneWaitsOver, renderTable, retriedAt } from "../../deploy/compose/drills/lib/figures.mjs";
export type { DrillFigures, DrillResult } from "../../deploy/compose/drills/lib/figures.mjs";
