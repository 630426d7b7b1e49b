import { ALL_PHASES, type ActionDefinition, HTTP_PHASES } from "../action-types.js";
import { engineResponse } from "../outcome.js";
import { checkHeaderName, checkHeaderValue } from "./headers.js";

/** `custom-response`: answers with a status (200 by default, as ngrok), headers and body of the author's choosing. */
export const customResponse: ActionDefinition = {
  type: "custom-response",
  phases: HTTP_PHASES,
  compile(config) {
    const status = config.int("status_code", { min: 100, max: 999 }) ?? (config.node("status_code") ? undefined : 200);
    const headers = config.templateMap("headers");
    const body = config.template("body");
    config.finish();
    if (status === undefined || (headers && !headers.every((h) => checkHeaderName(h.cursor, h.value[0])))) return undefined;
    const entries = (headers ?? []).map((h) => h.value);
    return {
      type: "custom-response",
      alwaysTerminates: true,
      run(x) {
        const out = new Map<string, string[]>();
        for (const [name, t] of entries) out.set(name.toLowerCase(), [checkHeaderValue(name, t.render(x.scope))]);
        return { kind: "respond", response: { status, headers: out, body: body?.render(x.scope) ?? "" } };
      },
    };
  },
};

/**
 * `deny`: refuses the request with `status_code` (403 by default, as ngrok). In `on_tcp_connect`
 * there is no response to send, so the connection is closed.
 */
export const deny: ActionDefinition = {
  type: "deny",
  phases: ALL_PHASES,
  compile(config) {
    const status = config.int("status_code", { min: 100, max: 999 }) ?? 403;
    config.finish();
    return {
      type: "deny",
      alwaysTerminates: true,
      run(x) {
        if (x.phase === "on_tcp_connect") return { kind: "close" };
        return { kind: "respond", response: engineResponse(status, "ACCESS_DENIED", "Access denied by traffic policy.") };
      },
    };
  },
};

/** `close-connection`: drops the client connection without a response. */
export const closeConnection: ActionDefinition = {
  type: "close-connection",
  phases: ALL_PHASES,
  compile(config) {
    config.finish();
    return { type: "close-connection", alwaysTerminates: true, run: () => ({ kind: "close" }) };
  },
};
