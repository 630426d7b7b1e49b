export type { Bus, BusMessage, BusStatus } from "./bus.js";
export { createInProcessBus, InProcessBusHub, subjectMatches } from "./in-process-bus.js";
