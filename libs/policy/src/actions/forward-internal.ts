import type { ActionDefinition } from "../action-types.js";
import { EvaluationError } from "../interpolation.js";

const INTERNAL_URL = /^(https?):\/\/([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*)\.internal(?::(\d{1,5}))?\/?$/;

/**
 * Checks `http(s)://NAME.internal[:port]`; returns a problem, or undefined when fine. Edges route
 * internal endpoints by name, so `http://api.internal` and `https://api.internal` reach the same
 * one, as a policy copied from ngrok expects. `tcp://` and `tls://` wait for TCP endpoints.
 */
export function internalUrlProblem(url: string): string | undefined {
  const m = INTERNAL_URL.exec(url.toLowerCase());
  if (!m) {
    const scheme = /^([a-z][a-z0-9+.-]*):\/\//.exec(url.toLowerCase())?.[1];
    if (scheme === "tcp" || scheme === "tls") return `${scheme}:// internal endpoints are not supported yet (Onramp has HTTP endpoints only), got ${JSON.stringify(url)}`;
    return `must be an internal endpoint URL like https://NAME.internal[:port] or http://NAME.internal[:port], got ${JSON.stringify(url)}`;
  }
  const port = m[3] === undefined ? (m[1] === "http" ? 80 : 443) : Number(m[3]);
  if (port < 1 || port > 65535) return `port must be between 1 and 65535, got ${port}`;
  return undefined;
}

/**
 * `forward-internal`: hands the request to an internal endpoint (a pool that any edge can reach).
 * The edge does the forwarding; with `on_error: continue` it calls the outcome's `resume()` when
 * forwarding fails, and the rest of the chain runs.
 */
export const forwardInternal: ActionDefinition = {
  type: "forward-internal",
  phases: ["on_http_request"],
  compile(config) {
    const urlNode = config.node("url", true);
    const url = config.template("url", { required: true });
    // Onramp has one binding kind for internal endpoints; the field is accepted for ngrok parity.
    const binding = config.string("binding", { oneOf: ["internal"] });
    // halt: ngrok's default; a failed forward answers with an error rather than silently falling through.
    const onError = (config.string("on_error", { oneOf: ["halt", "continue"] }) ?? "halt") as "halt" | "continue";
    config.finish();
    if (!url) return undefined;
    if (url.constant !== undefined) {
      const problem = internalUrlProblem(url.constant);
      if (problem) {
        urlNode?.cursor.error(problem);
        return undefined;
      }
    }
    return {
      type: "forward-internal",
      alwaysTerminates: onError === "halt",
      run(x) {
        const target = url.render(x.scope);
        const problem = internalUrlProblem(target);
        if (problem) throw new EvaluationError(`forward-internal url ${problem}`);
        x.setResult("forward_internal", { url: target });
        return { kind: "forward-internal", url: target.replace(/\/$/, ""), binding, onError };
      },
    };
  },
};
