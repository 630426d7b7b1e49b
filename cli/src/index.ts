export { parseDuration, parseSize } from "./units.js";
