import { type ActionDefinition, HTTP_PHASES, NEXT } from "../action-types.js";
import { checkHeaderName, checkHeaderValue } from "./headers.js";
import { chargedReplaceAll, readRegex } from "./regex-field.js";

/**
 * `redirect`: answers with a 3xx and a `Location`. With `from`, the pattern is matched against the
 * full request URL (`https://host/path?query`) and every match is replaced by `to` (Go
 * `ReplaceAllString`, `$1` capture references); no match means no redirect and the chain goes on.
 * Without `from`, `to` is the location. `from` may use `${…}`: it is interpolated first, then compiled
 * (once per distinct text).
 */
export const redirect: ActionDefinition = {
  type: "redirect",
  phases: HTTP_PHASES,
  compile(config) {
    const from = readRegex(config, "from", false);
    const to = config.template("to", { required: true });
    // 302 is ngrok's default: temporary, so a policy change takes effect for clients at once.
    const status = config.int("status_code", { min: 300, max: 399 }) ?? 302;
    const headers = config.templateMap("headers");
    config.finish();
    if (!to || (headers && !headers.every((h) => checkHeaderName(h.cursor, h.value[0])))) return undefined;
    const entries = (headers ?? []).map((h) => h.value);
    return {
      type: "redirect",
      alwaysTerminates: from === undefined,
      run(x) {
        const view = x.view;
        if (!view) return NEXT;
        let location: string | undefined = to.render(x.scope);
        if (from) {
          const rendered = location;
          location = chargedReplaceAll(x, from.resolve(x), view.url(), () => rendered);
          if (location === undefined) return NEXT;
        }
        const out = new Map<string, string[]>();
        for (const [name, t] of entries) out.set(name.toLowerCase(), [checkHeaderValue(name, t.render(x.scope))]);
        out.set("location", [checkHeaderValue("location", location)]);
        x.setResult("redirect", { url: location });
        return { kind: "respond", response: { status, headers: out, body: "" } };
      },
    };
  },
};
