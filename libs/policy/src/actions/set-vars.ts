import { isMap, isScalar } from "yaml";
import { ALL_PHASES, type ActionDefinition, NEXT } from "../action-types.js";
import { type ValueTemplate, compileValue } from "./value-template.js";

const VAR_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * `set-vars`: assigns `vars.<name>` for later expressions and later phases. `vars` is a list of
 * single-entry maps, as in ngrok's reference, or one map of name to value; entries are assigned in
 * order, so a later one can read an earlier one.
 */
export const setVars: ActionDefinition = {
  type: "set-vars",
  phases: ALL_PHASES,
  compile(config) {
    const raw = config.node("vars", true);
    // The map form, `vars: {a: 1, b: "${vars.a}"}`, reads as the list form's one-entry list.
    const mapForm = raw !== undefined && isMap(raw.value);
    if (mapForm && (raw.value as { items: unknown[] }).items.length === 0) raw.cursor.error("must have at least 1 entry");
    const items = mapForm ? [raw] : config.list("vars", { required: true, min: 1 });
    config.finish();
    if (!items) return undefined;
    const assignments: Array<[string, ValueTemplate]> = [];
    let failed = false;
    for (const item of items) {
      if (!isMap(item.value)) {
        item.cursor.error("must be a map of variable name to value, e.g. `- is_admin: true`");
        failed = true;
        continue;
      }
      for (const pair of item.value.items) {
        const name = isScalar(pair.key) ? String(pair.key.value) : "";
        const cursor = item.cursor.key(name, pair.value as never, pair.key as never);
        if (!VAR_NAME.test(name)) {
          cursor.at(pair.key as never).error(`${JSON.stringify(name)} is not a valid variable name (letters, digits, _)`);
          failed = true;
          continue;
        }
        const value = compileValue(config.cx, cursor, pair.value as never);
        if (value) assignments.push([name, value]);
        else failed = true;
      }
    }
    if (failed) return undefined;
    return {
      type: "set-vars",
      alwaysTerminates: false,
      run(x) {
        for (const [name, value] of assignments) x.ctx.vars.set(name, value(x.scope));
        return NEXT;
      },
    };
  },
};
