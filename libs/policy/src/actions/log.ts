import { isMap } from "yaml";
import { ALL_PHASES, type ActionDefinition, NEXT } from "../action-types.js";
import { celToJs } from "../cel-values.js";
import { compileValue } from "./value-template.js";

/**
 * `log`: records `metadata` (interpolated) for the edge to emit with its request log; the engine
 * only collects records, it never writes them.
 */
export const log: ActionDefinition = {
  type: "log",
  phases: ALL_PHASES,
  compile(config, site) {
    const n = config.node("metadata", true);
    config.finish();
    if (!n) return undefined;
    if (!isMap(n.value)) {
      n.cursor.error("must be a map of names to values");
      return undefined;
    }
    const metadata = compileValue(config.cx, n.cursor, n.value);
    if (!metadata) return undefined;
    return {
      type: "log",
      alwaysTerminates: false,
      run(x) {
        const value = celToJs(metadata(x.scope));
        const record = typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : { value };
        x.logs.push({ kind: "log", phase: x.phase, ruleIndex: site.ruleIndex, ruleName: site.ruleName, metadata: record });
        x.setResult("log", { metadata: new Map(Object.entries(record)) });
        return NEXT;
      },
    };
  },
};
