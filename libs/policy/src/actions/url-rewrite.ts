import { type ActionDefinition, NEXT } from "../action-types.js";
import { EvaluationError } from "../interpolation.js";
import { chargedReplaceAll, readRegex } from "./regex-field.js";

/**
 * `url-rewrite`: rewrites the request's path and query before it is forwarded. `from` (RE2,
 * `${…}` interpolated first) is matched against `path?query`, and every match is replaced by `to`
 * with `$1`/`${name}` capture references expanded (Go `ReplaceAllString` semantics, as ngrok). No
 * match leaves the URL alone. Without `from` (optional in ngrok), `to` replaces the whole
 * `path?query`.
 */
export const urlRewrite: ActionDefinition = {
  type: "url-rewrite",
  phases: ["on_http_request"],
  compile(config) {
    const from = readRegex(config, "from", false);
    const to = config.template("to", { required: true });
    config.finish();
    if ((config.node("from") && !from) || !to) return undefined;
    return {
      type: "url-rewrite",
      alwaysTerminates: false,
      run(x) {
        const view = x.view;
        if (!view) return NEXT;
        const before = view.pathAndQuery();
        const after = from ? chargedReplaceAll(x, from.resolve(x), before, () => to.render(x.scope)) : to.render(x.scope);
        if (after === undefined) return NEXT;
        if (/[\s\0]/.test(after)) throw new EvaluationError(`url-rewrite produced an invalid URL ${JSON.stringify(after)}`);
        const q = after.indexOf("?");
        const path = q < 0 ? after : after.slice(0, q);
        view.request.path = path.startsWith("/") ? path : `/${path}`;
        view.request.rawQuery = q < 0 ? "" : after.slice(q + 1);
        x.setResult("url_rewrite", { url: view.url() });
        return NEXT;
      },
    };
  },
};
