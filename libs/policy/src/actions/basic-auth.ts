import { type ActionDefinition, NEXT } from "../action-types.js";
import { firstHeader } from "../context.js";
import { engineResponse } from "../outcome.js";

/** Compares without an early exit, so response time does not reveal how much of a secret matched. */
function constantTimeEqual(a: string, b: string): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < b.length; i++) diff |= (a.charCodeAt(i % Math.max(1, a.length)) ^ b.charCodeAt(i)) | 0;
  return diff === 0;
}

function decodeBasic(header: string | undefined): { user: string; pass: string } | undefined {
  const m = header === undefined ? null : /^basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m?.[1]) return undefined;
  let text: string;
  try {
    const bytes = Uint8Array.from(atob(m[1]), (c) => c.charCodeAt(0));
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
  const colon = text.indexOf(":");
  return colon < 0 ? undefined : { user: text.slice(0, colon), pass: text.slice(colon + 1) };
}

/**
 * `basic-auth`: requires one of `credentials` (`"user:password"`) in the Authorization header;
 * otherwise 401 with a `WWW-Authenticate` challenge for `realm`.
 */
export const basicAuth: ActionDefinition = {
  type: "basic-auth",
  phases: ["on_http_request"],
  compile(config) {
    // ngrok's limits: up to 10 pairs, passwords of 8–128 characters.
    const items = config.stringList("credentials", { required: true, min: 1, max: 10 }) ?? [];
    const realm = config.string("realm") ?? "onramp";
    const enforce = config.bool("enforce", true);
    config.finish();
    const credentials: Array<{ user: string; pass: string }> = [];
    for (const item of items) {
      const colon = item.value.indexOf(":");
      const user = item.value.slice(0, Math.max(0, colon));
      const pass = item.value.slice(colon + 1);
      if (colon <= 0) item.cursor.error('must be "username:password"');
      // ngrok wants 8 or more; a short password is weak but the user's call (and what a quick demo uses).
      else if (pass.length < 1 || pass.length > 128) item.cursor.error("password must be 1 to 128 characters long");
      else credentials.push({ user, pass });
    }
    if (/["\\\r\n]/.test(realm)) config.cursor.key("realm", undefined).error("must not contain quotes, backslashes or line breaks");
    if (credentials.length !== items.length || credentials.length === 0) return undefined;
    const challenge = `Basic realm="${realm}", charset="UTF-8"`;
    return {
      type: "basic-auth",
      alwaysTerminates: false,
      run(x) {
        const presented = decodeBasic(x.view ? firstHeader(x.view.request.headers, "authorization") : undefined);
        let authorized = false;
        if (presented) {
          for (const c of credentials) {
            // Check every pair: stopping at the first hit would leak which entry matched.
            if (constantTimeEqual(presented.user, c.user) && constantTimeEqual(presented.pass, c.pass)) authorized = true;
          }
        }
        x.setResult("basic_auth", {
          credentials: { presented: presented !== undefined, username: presented?.user ?? "", authorized },
        });
        if (authorized || !enforce) return NEXT;
        return {
          kind: "respond",
          response: engineResponse(401, "UNAUTHORIZED", "Authentication required.", [["www-authenticate", challenge]]),
        };
      },
    };
  },
};
