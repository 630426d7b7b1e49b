import {
  ClientSecretBasic,
  ClientSecretPost,
  Configuration,
  type CustomFetch,
  type ExportedJWKSCache,
  None,
  type ServerMetadata,
  allowInsecureRequests,
  authorizationCodeGrant,
  buildAuthorizationUrl,
  clockSkew,
  customFetch,
  discovery,
  fetchUserInfo,
  getJwksCache,
  setJwksCache,
} from "openid-client";
import type { ActionDefinition, ActionExecution } from "../action-types.js";
import type { ConfigReader } from "../config-reader.js";
import type { Template } from "../interpolation.js";
import type { AuthRuntime } from "../runtime.js";
import { type AuthorizationParams, authorizationRequest, type Identity, type LoginProvider, type LoginResult, readAuthSettings, runAuth } from "./auth-flow.js";
import type { LoginFlow } from "./auth-session.js";

/** 5 s: a slow identity provider should fail one login, not hold the request for the client's whole timeout. */
const PROVIDER_TIMEOUT_S = 5;

/** Plain-HTTP identity providers are accepted on loopback only (local development and tests). */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/** Reads an `http(s)` URL field; plain `http` only for loopback hosts. */
export function readProviderUrl(config: ConfigReader, key: string, required: boolean): URL | undefined {
  const node = config.node(key, required);
  const text = node ? config.string(key) : undefined;
  if (!node || text === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    node.cursor.error(`must be an https URL, got ${JSON.stringify(text)}`);
    return undefined;
  }
  if (url.protocol === "https:" || (url.protocol === "http:" && isLoopbackHost(url.hostname))) return url;
  node.cursor.error(`must be an https URL (plain http only on localhost), got ${JSON.stringify(text)}`);
  return undefined;
}

/** Wires openid-client's requests to the runtime's fetch, cancelled with the client's request too. */
export function fetchThrough(auth: AuthRuntime, signal: AbortSignal | undefined): CustomFetch {
  return (url, options) => {
    const signals = [options.signal, signal].filter((s): s is AbortSignal => s !== undefined);
    return auth.fetch(url, { ...(options as RequestInit), signal: signals.length > 1 ? AbortSignal.any(signals) : signals[0] });
  };
}

/** Client authentication the provider supports: `client_secret_basic` (the OpenID default) before `client_secret_post`. */
export function clientAuth(server: ServerMetadata, secret: string | undefined) {
  if (secret === undefined) return None();
  const methods = server.token_endpoint_auth_methods_supported ?? ["client_secret_basic"];
  return !methods.includes("client_secret_basic") && methods.includes("client_secret_post") ? ClientSecretPost(secret) : ClientSecretBasic(secret);
}

export function identityOf(claims: Record<string, unknown>): Identity {
  const text = (v: unknown): string => (typeof v === "string" ? v : typeof v === "number" ? String(v) : "");
  return { sub: text(claims["sub"]), email: text(claims["email"]), name: text(claims["name"]) || text(claims["preferred_username"]) };
}

/** One OpenID provider found by discovery (lazily, at the first login, and again after a failure). */
class OidcProvider implements LoginProvider {
  private metadata: Promise<ServerMetadata> | undefined;
  private jwks: ExportedJWKSCache | undefined;

  constructor(
    private readonly issuer: URL,
    private readonly clientId: Template,
    private readonly clientSecret: Template | undefined,
    private readonly scope: string,
    private readonly params: ReadonlyArray<readonly [string, Template]>,
  ) {}

  fingerprint(x: ActionExecution): string {
    return `${this.issuer.href} ${this.clientId.render(x.scope)}`;
  }

  private async config(x: ActionExecution, auth: AuthRuntime): Promise<Configuration> {
    const insecure = this.issuer.protocol === "http:";
    this.metadata ??= discovery(this.issuer, this.clientId.render(x.scope), undefined, undefined, {
      [customFetch]: fetchThrough(auth, undefined),
      execute: insecure ? [allowInsecureRequests] : [],
      timeout: PROVIDER_TIMEOUT_S,
    }).then(
      (c) => c.serverMetadata(),
      (err: unknown) => {
        this.metadata = undefined;
        throw err;
      },
    );
    const server = await this.metadata;
    const secret = this.clientSecret?.render(x.scope);
    // ID tokens are checked against the runtime's clock, like every other time in a policy.
    const skew = Math.round((x.rt.now() - Date.now()) / 1000);
    const config = new Configuration(server, this.clientId.render(x.scope), { [clockSkew]: skew }, clientAuth(server, secret));
    config[customFetch] = fetchThrough(auth, x.signal);
    config.timeout = PROVIDER_TIMEOUT_S;
    if (insecure) allowInsecureRequests(config);
    if (this.jwks) setJwksCache(config, this.jwks);
    return config;
  }

  async authorizationUrl(x: ActionExecution, auth: AuthRuntime, p: AuthorizationParams): Promise<URL> {
    const config = await this.config(x, auth);
    const extra = Object.fromEntries(this.params.map(([k, t]) => [k, t.render(x.scope)]));
    return buildAuthorizationUrl(config, authorizationRequest(extra, this.scope, p, true));
  }

  async complete(x: ActionExecution, auth: AuthRuntime, callback: URL, flow: LoginFlow, redirectUri: string): Promise<LoginResult> {
    const config = await this.config(x, auth);
    const tokens = await authorizationCodeGrant(
      config,
      callback,
      { pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce, idTokenExpected: true },
      { redirect_uri: redirectUri },
    );
    this.jwks = getJwksCache(config) ?? this.jwks;
    const claims = (tokens.claims() ?? {}) as Record<string, unknown>;
    let identity = identityOf(claims);
    // Many providers put only `sub` in the ID token and the profile behind the user info endpoint.
    if ((!identity.email || !identity.name) && config.serverMetadata().userinfo_endpoint) {
      const info = identityOf(await fetchUserInfo(config, tokens.access_token, identity.sub));
      identity = { sub: identity.sub, email: identity.email || info.email, name: identity.name || info.name };
    }
    return { identity, idToken: tokens.id_token, accessToken: tokens.access_token, refreshToken: tokens.refresh_token };
  }

  async userinfo(x: ActionExecution, auth: AuthRuntime, accessToken: string, sub: string): Promise<Identity> {
    const config = await this.config(x, auth);
    return identityOf(await fetchUserInfo(config, accessToken, sub));
  }
}

/**
 * `openid-connect`: browser login with any OpenID provider (discovery at
 * `issuer_url/.well-known/openid-configuration`), authorization code flow with PKCE, the ID token
 * validated; see auth-flow.ts for sessions and the special paths.
 */
export const openidConnect: ActionDefinition = {
  type: "openid-connect",
  phases: ["on_http_request"],
  compile(config) {
    const issuer = readProviderUrl(config, "issuer_url", true);
    const clientId = config.template("client_id", { required: true });
    const clientSecret = config.template("client_secret");
    const scopes = (config.stringList("scopes") ?? []).map((s) => s.value);
    const params = (config.templateMap("authz_url_params") ?? []).map((p) => p.value);
    const settings = readAuthSettings(config, "oidc", "oidc");
    config.finish();
    if (!issuer || !clientId) return undefined;
    const scope = [...new Set(["openid", ...(scopes.length > 0 ? scopes : ["profile", "email"])])].join(" ");
    const provider = new OidcProvider(issuer, clientId, clientSecret, scope, params);
    return { type: "openid-connect", alwaysTerminates: false, run: (x) => runAuth(x, settings, provider) };
  },
};
