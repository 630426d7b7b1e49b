import { calculatePKCECodeChallenge, randomNonce, randomPKCECodeVerifier, randomState } from "openid-client";
import { type ActionExecution, type ActionStep, NEXT } from "../action-types.js";
import type { ConfigReader } from "../config-reader.js";
import { firstHeader } from "../context.js";
import { type PolicyResponse, engineResponse } from "../outcome.js";
import type { AuthRuntime } from "../runtime.js";
import { type AuthSession, type LoginFlow, randomId, seal, sealSession, setCookie, unseal } from "./auth-session.js";
import { type LoginFailure, describeLoginError } from "./login-errors.js";

/**
 * The browser login shared by `openid-connect` and `oauth`: no valid session cookie → 302 to the
 * identity provider (state, nonce and PKCE verifier sealed in a short-lived cookie); the provider
 * sends the user back to `/ngrok/callback` on the same endpoint, where the code is redeemed and a
 * sealed session cookie set; later requests carry the identity in `actions.ngrok.<oidc|oauth>`.
 */

export const LOGIN_PATH = "/ngrok/login";
export const LOGOUT_PATH = "/ngrok/logout";
/** Register `<endpoint URL>/ngrok/callback` as the redirect URI of the provider app. */
export const CALLBACK_PATH = "/ngrok/callback";

/** 10 min: long enough to type a password and pass a second factor, short enough to bound replays. */
const LOGIN_FLOW_MS = 10 * 60_000;
/** 7 days when `max_session_duration` is not set. */
export const DEFAULT_MAX_SESSION_MS = 7 * 24 * 3600_000;
const MAX_DURATION_MS = 365 * 24 * 3600_000;

export interface Identity {
  readonly sub: string;
  readonly email: string;
  readonly name: string;
}

export interface LoginResult {
  readonly identity: Identity;
  readonly idToken?: string | undefined;
  readonly accessToken?: string | undefined;
  readonly refreshToken?: string | undefined;
}

export interface AuthorizationParams {
  readonly redirectUri: string;
  readonly state: string;
  readonly nonce: string;
  readonly codeChallenge: string;
  /** `/ngrok/login`: ask the provider to prompt for credentials again. */
  readonly forceLogin: boolean;
}

/**
 * The authorization request's parameters as both login actions send them: the action's extra
 * parameters (`authz_url_params`), the code flow with PKCE (S256) and state, the OIDC nonce when
 * `withNonce`, and `prompt=login` for `/ngrok/login`.
 */
export function authorizationRequest(extra: Record<string, string>, scope: string, p: AuthorizationParams, withNonce: boolean): Record<string, string> {
  return {
    ...extra,
    response_type: "code",
    redirect_uri: p.redirectUri,
    scope,
    state: p.state,
    ...(withNonce ? { nonce: p.nonce } : {}),
    code_challenge: p.codeChallenge,
    code_challenge_method: "S256",
    ...(p.forceLogin ? { prompt: "login" } : {}),
  };
}

/** One identity provider app, as the login flow uses it. */
export interface LoginProvider {
  /** Names the provider app; a session cookie made with another one is not accepted. */
  fingerprint(x: ActionExecution): string;
  authorizationUrl(x: ActionExecution, auth: AuthRuntime, p: AuthorizationParams): Promise<URL>;
  /** Redeems the callback's code for tokens and the user's identity. */
  complete(x: ActionExecution, auth: AuthRuntime, callback: URL, flow: LoginFlow, redirectUri: string): Promise<LoginResult>;
  /** Reads the user's identity again with the session's access token (`userinfo_refresh_interval`). */
  userinfo(x: ActionExecution, auth: AuthRuntime, accessToken: string, sub: string): Promise<Identity>;
}

export interface AuthSettings {
  /** `oidc` or `oauth`: where results are published (`actions.ngrok.<name>`). */
  readonly resultName: "oidc" | "oauth";
  readonly authId: string;
  readonly maxSessionMs: number;
  readonly idleMs: number | undefined;
  readonly userinfoRefreshMs: number | undefined;
  readonly allowCorsPreflight: boolean;
  readonly cookieDomain: string | undefined;
}

/** Reads the session fields both actions share (all but the provider and client). */
export function readAuthSettings(config: ConfigReader, resultName: "oidc" | "oauth", defaultAuthId: string): AuthSettings {
  const authIdNode = config.node("auth_id");
  const authId = config.string("auth_id") ?? defaultAuthId;
  if (authIdNode && !/^[A-Za-z0-9_-]{1,64}$/.test(authId)) authIdNode.cursor.error("must be 1 to 64 letters, digits, '_' or '-' (it names a cookie)");
  const range = { min: 60_000, max: MAX_DURATION_MS };
  const maxSessionMs = config.duration("max_session_duration", range) ?? DEFAULT_MAX_SESSION_MS;
  // ngrok names it idle_session_timeout for oauth and idle_session_duration for openid-connect; both are read.
  const idleTimeout = config.duration("idle_session_timeout", range);
  const idleDuration = config.duration("idle_session_duration", range);
  if (idleTimeout !== undefined && idleDuration !== undefined) {
    config.cursor.key("idle_session_duration", undefined).error("give idle_session_timeout or idle_session_duration, not both");
  }
  const userinfoRefreshMs = config.duration("userinfo_refresh_interval", range);
  const allowCorsPreflight = config.bool("allow_cors_preflight", false);
  const domainNode = config.node("auth_cookie_domain");
  const cookieDomain = config.string("auth_cookie_domain");
  if (domainNode && cookieDomain !== undefined && !/^\.?[A-Za-z0-9.-]+$/.test(cookieDomain)) domainNode.cursor.error("must be a domain name");
  return { resultName, authId, maxSessionMs, idleMs: idleTimeout ?? idleDuration, userinfoRefreshMs, allowCorsPreflight, cookieDomain };
}

function redirect(location: string, cookies: string[]): PolicyResponse {
  const headers = new Map<string, string[]>([
    ["location", [location]],
    ["cache-control", ["no-store"]],
  ]);
  if (cookies.length > 0) headers.set("set-cookie", cookies);
  return { status: 302, headers, body: "" };
}

/** A path on this endpoint, never `//host` or `/\host` (which browsers treat as another site). */
function safePath(p: string | undefined): string | undefined {
  return p !== undefined && /^\/(?![/\\])/.test(p) ? p : undefined;
}

/** Runs the login flow for one request; see the file comment. */
export async function runAuth(x: ActionExecution, s: AuthSettings, provider: LoginProvider): Promise<ActionStep> {
  const view = x.view;
  if (!view) return NEXT;
  const req = view.request;
  const auth = x.rt.auth;
  const fail = (f: LoginFailure): ActionStep => {
    x.setResult(s.resultName, { error: { code: f.code, message: f.message } });
    const response =
      f.status === 503
        ? engineResponse(503, "IDENTITY_PROVIDER_UNAVAILABLE", `Login is unavailable right now: ${f.message}.`, [["retry-after", "30"]])
        : engineResponse(401, "UNAUTHORIZED", `Login failed: ${f.message}.`);
    return { kind: "respond", response };
  };
  if (!auth) return fail({ code: "not_configured", message: "this edge has no session secret for login actions", status: 503 });

  const query = view.queryParams();
  const targeted = (query.get("auth_id")?.[0] ?? s.authId) === s.authId;
  const sessionCookie = `onramp_auth_${s.authId}`;
  const flowCookie = `onramp_login_${s.authId}`;
  const cookieAttrs = (maxAge: number) => ({ secure: req.scheme === "https", domain: s.cookieDomain, maxAge });
  const now = x.rt.now();
  const redirectUri = `${req.scheme}://${req.host}${CALLBACK_PATH}`;

  const startLogin = async (back: string, forceLogin: boolean, clear: string[]): Promise<ActionStep> => {
    const verifier = randomPKCECodeVerifier();
    const flow: LoginFlow = { kind: "flow", aid: s.authId, state: `${s.authId}.${randomState()}`, nonce: randomNonce(), verifier, back, until: now + LOGIN_FLOW_MS };
    let url: URL;
    try {
      const codeChallenge = await calculatePKCECodeChallenge(verifier);
      url = await provider.authorizationUrl(x, auth, { redirectUri, state: flow.state, nonce: flow.nonce, codeChallenge, forceLogin });
    } catch (err) {
      if (x.signal?.aborted) throw err;
      return fail(describeLoginError(err));
    }
    const sealed = await seal(flow, auth.sessionSecret);
    return { kind: "respond", response: redirect(url.href, [...clear, setCookie(flowCookie, sealed, cookieAttrs(LOGIN_FLOW_MS / 1000))]) };
  };

  if (req.path === LOGOUT_PATH && targeted) {
    const cleared = setCookie(sessionCookie, "", cookieAttrs(0));
    const back = safePath(query.get("redirect_path")?.[0]);
    if (back) return { kind: "respond", response: redirect(back, [cleared]) };
    const headers = new Map([["content-type", ["text/plain; charset=utf-8"]], ["cache-control", ["no-store"]], ["set-cookie", [cleared]]]);
    return { kind: "respond", response: { status: 200, headers, body: "You are logged out.\n" } };
  }
  if (req.path === LOGIN_PATH && targeted) return startLogin(safePath(query.get("redirect_path")?.[0]) ?? "/", true, []);
  if (req.path === CALLBACK_PATH) {
    const state = query.get("state")?.[0] ?? "";
    if (!state.startsWith(`${s.authId}.`)) return NEXT; // another login action's callback
    const flow = await unseal<LoginFlow>(view.cookies().get(flowCookie)?.[0], auth.sessionSecret, "flow");
    if (!flow || flow.aid !== s.authId || flow.state !== state || flow.until <= now) {
      return fail({ code: "invalid_login_state", message: "the login expired or was started in another browser; reload the page to try again", status: 401 });
    }
    const idpError = query.get("error")?.[0];
    if (idpError !== undefined) return fail({ code: "provider_error", message: `the identity provider answered ${JSON.stringify(idpError)}`, status: 401 });
    let result: LoginResult;
    try {
      const callback = new URL(`${redirectUri}${req.rawQuery ? `?${req.rawQuery}` : ""}`);
      result = await provider.complete(x, auth, callback, flow, redirectUri);
    } catch (err) {
      if (x.signal?.aborted) throw err;
      return fail(describeLoginError(err));
    }
    const session: AuthSession = {
      kind: "session",
      aid: s.authId,
      fp: provider.fingerprint(x),
      sid: randomId(),
      ...result.identity,
      created: now,
      seen: now,
      info: now,
      ...(result.idToken ? { idt: result.idToken } : {}),
      ...(result.accessToken ? { at: result.accessToken } : {}),
      ...(result.refreshToken ? { rt: result.refreshToken } : {}),
    };
    const sealed = await sealSession(session, auth.sessionSecret);
    const cookies = [setCookie(flowCookie, "", cookieAttrs(0)), setCookie(sessionCookie, sealed, cookieAttrs(s.maxSessionMs / 1000))];
    return { kind: "respond", response: redirect(safePath(flow.back) ?? "/", cookies) };
  }

  if (s.allowCorsPreflight && req.method === "OPTIONS" && firstHeader(req.headers, "origin") !== undefined && firstHeader(req.headers, "access-control-request-method") !== undefined) {
    return NEXT;
  }

  const back = `${req.path}${req.rawQuery ? `?${req.rawQuery}` : ""}`;
  const raw = view.cookies().get(sessionCookie)?.[0];
  let session = await unseal<AuthSession>(raw, auth.sessionSecret, "session");
  if (session && (session.aid !== s.authId || session.fp !== provider.fingerprint(x))) session = undefined;
  const maxReached = session !== undefined && session.created + s.maxSessionMs <= now;
  const timedOut = session !== undefined && s.idleMs !== undefined && session.seen + s.idleMs <= now;
  if (!session || maxReached || timedOut) {
    x.setResult(s.resultName, { session_timed_out: timedOut, session_max_duration_reached: maxReached, userinfo_refreshed: false });
    return startLogin(back, false, raw === undefined ? [] : [setCookie(sessionCookie, "", cookieAttrs(0))]);
  }

  // A cookie is only rewritten by a response the action sends itself, so activity (idle timeout)
  // and refreshed user info are stored by a 307 to the same URL, on GET and HEAD requests only.
  const restamp = s.idleMs !== undefined && now - session.seen > s.idleMs / 4;
  const refresh = s.userinfoRefreshMs !== undefined && session.at !== undefined && now - session.info >= s.userinfoRefreshMs;
  // Not for a path like `//host/x` (possible with merge-slashes off): as a Location it names another site.
  if ((restamp || refresh) && (req.method === "GET" || req.method === "HEAD") && safePath(back) !== undefined) {
    let identity: Identity = session;
    if (refresh && session.at !== undefined) {
      try {
        identity = await provider.userinfo(x, auth, session.at, session.sub);
      } catch (err) {
        if (x.signal?.aborted) throw err;
        const f = describeLoginError(err);
        // The provider no longer accepts the token (revoked, expired): the user logs in again.
        if (f.status === 401) return startLogin(back, false, [setCookie(sessionCookie, "", cookieAttrs(0))]);
        return fail(f);
      }
    }
    const next: AuthSession = { ...session, sub: identity.sub, email: identity.email, name: identity.name, seen: now, info: refresh ? now : session.info };
    const sealed = await sealSession(next, auth.sessionSecret);
    const left = (session.created + s.maxSessionMs - now) / 1000;
    return { kind: "respond", response: { ...redirect(back, [setCookie(sessionCookie, sealed, cookieAttrs(left))]), status: 307 } };
  }

  const expiresAt = Math.min(session.created + s.maxSessionMs, s.idleMs === undefined ? Number.POSITIVE_INFINITY : session.seen + s.idleMs);
  x.setResult(s.resultName, {
    identity: {
      id: `${s.authId}:${session.sub}`,
      email: session.email,
      name: session.name,
      provider_user_id: session.sub,
      [s.resultName === "oidc" ? "current_session_id" : "current_provider_session_id"]: session.sid,
    },
    ...(s.resultName === "oidc" ? { identity_token: session.idt ?? "" } : {}),
    access_token: session.at ?? "",
    refresh_token: session.rt ?? "",
    expires_at: new Date(expiresAt).toISOString(),
    session_timed_out: false,
    session_max_duration_reached: false,
    userinfo_refreshed: false,
  });
  return NEXT;
}
