import { type ActionDefinition, type ActionExecution, NEXT } from "../action-types.js";
import type { CompileContext, Located } from "../config-reader.js";
import { firstHeader } from "../context.js";
import { type Template, compileTemplate, isSingleInterpolation, literalIndexOf } from "../interpolation.js";
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

interface Pair {
  readonly user: string;
  readonly pass: string;
}

/**
 * One `credentials` entry. With `${…}` (ngrok's rules): one interpolation may produce the whole
 * `user:password`; otherwise the `:` must be written literally and interpolations produce the
 * username, the password or parts of them.
 */
type Credential = { readonly fixed: Pair } | { readonly user: Template; readonly pass: Template } | { readonly whole: Template };

// ngrok wants passwords of 8 or more; a short password is weak but the user's call (and what a quick demo uses).
const passwordOk = (pass: string): boolean => pass.length >= 1 && pass.length <= 128;

function compilePart(cx: CompileContext, item: Located<string>, text: string, offset: number): Template | undefined {
  const r = compileTemplate(cx.cel, text, cx.phase);
  if (r.ok) return r.template;
  for (const p of r.problems) item.cursor.error(p.message, offset + p.offset);
  return undefined;
}

function readCredential(cx: CompileContext, item: Located<string>): Credential | undefined {
  const text = item.value;
  const dynamic = text.includes("${");
  const colon = dynamic ? literalIndexOf(text, ":") : text.indexOf(":");
  if (colon < 0 && dynamic && isSingleInterpolation(text)) {
    const whole = compilePart(cx, item, text, 0);
    return whole && { whole };
  }
  if (colon <= 0) {
    item.cursor.error(
      dynamic
        ? 'must be "username:password" with the ":" written out; only an interpolation that is the whole entry may produce it'
        : 'must be "username:password"',
    );
    return undefined;
  }
  const user = compilePart(cx, item, text.slice(0, colon), 0);
  const pass = compilePart(cx, item, text.slice(colon + 1), colon + 1);
  if (!user || !pass) return undefined;
  if (pass.constant !== undefined && !passwordOk(pass.constant)) {
    item.cursor.error("password must be 1 to 128 characters long");
    return undefined;
  }
  if (user.constant !== undefined && pass.constant !== undefined) return { fixed: { user: user.constant, pass: pass.constant } };
  return { user, pass };
}

/**
 * The pair an entry stands for in this request, or undefined when its interpolated text is not a
 * usable credential (no `:`, a `:` in the username, a password out of range): such an entry
 * matches nobody, so a bad variable locks clients out rather than letting them in.
 */
function resolve(c: Credential, x: ActionExecution): Pair | undefined {
  if ("fixed" in c) return c.fixed;
  let user: string;
  let pass: string;
  if ("whole" in c) {
    const text = c.whole.render(x.scope);
    const colon = text.indexOf(":");
    if (colon <= 0) return undefined;
    user = text.slice(0, colon);
    pass = text.slice(colon + 1);
  } else {
    user = c.user.render(x.scope);
    pass = c.pass.render(x.scope);
    if (user === "" || user.includes(":")) return undefined;
  }
  return passwordOk(pass) ? { user, pass } : undefined;
}

/**
 * `basic-auth`: requires one of `credentials` (`"user:password"`, `${…}` allowed) in the
 * Authorization header; otherwise 401 with a `WWW-Authenticate` challenge for `realm`.
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
    const credentials: Credential[] = [];
    for (const item of items) {
      const c = readCredential(config.cx, item);
      if (c) credentials.push(c);
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
            const pair = resolve(c, x);
            // Check every pair: stopping at the first hit would leak which entry matched.
            if (pair && constantTimeEqual(presented.user, pair.user) && constantTimeEqual(presented.pass, pair.pass)) authorized = true;
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
