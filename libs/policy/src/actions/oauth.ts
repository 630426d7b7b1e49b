import {
  ClientSecretBasic,
  ClientSecretPost,
  Configuration,
  type ServerMetadata,
  allowInsecureRequests,
  authorizationCodeGrant,
  buildAuthorizationUrl,
  customFetch,
} from "openid-client";
import type { ActionDefinition, ActionExecution } from "../action-types.js";
import type { Template } from "../interpolation.js";
import type { AuthRuntime } from "../runtime.js";
import { type AuthorizationParams, authorizationRequest, type Identity, type LoginProvider, type LoginResult, readAuthSettings, runAuth } from "./auth-flow.js";
import type { LoginFlow } from "./auth-session.js";
import { ProviderHttpError } from "./login-errors.js";
import { OAUTH_PROVIDERS, type OAuthProviderSpec } from "./oauth-providers.js";
import { fetchThrough, readProviderUrl } from "./openid-connect.js";

/** 5 s, as for openid-connect: one slow provider call fails the login instead of hanging it. */
const PROVIDER_TIMEOUT_MS = 5_000;

interface Endpoints {
  readonly authorization: URL;
  readonly token: URL;
  readonly userinfo: URL;
}

/** An OAuth 2.0 app at one of the known providers: authorization code flow with PKCE, then the provider's user API. */
class OAuthProvider implements LoginProvider {
  private readonly server: ServerMetadata;

  constructor(
    private readonly name: string,
    private readonly spec: OAuthProviderSpec,
    private readonly endpoints: Endpoints,
    private readonly clientId: Template,
    private readonly clientSecret: Template,
    private readonly scope: string,
    private readonly params: ReadonlyArray<readonly [string, Template]>,
  ) {
    // No discovery for plain OAuth: the metadata is written down. The issuer is the authorization
    // server's origin, which is what a provider that adds `iss` to its redirect sends (RFC 9207).
    this.server = { issuer: endpoints.authorization.origin, authorization_endpoint: endpoints.authorization.href, token_endpoint: endpoints.token.href };
  }

  fingerprint(x: ActionExecution): string {
    return `${this.name} ${this.endpoints.token.href} ${this.clientId.render(x.scope)}`;
  }

  private config(x: ActionExecution, auth: AuthRuntime): Configuration {
    const secret = this.clientSecret.render(x.scope);
    const method = this.spec.clientAuth === "client_secret_basic" ? ClientSecretBasic(secret) : ClientSecretPost(secret);
    const config = new Configuration(this.server, this.clientId.render(x.scope), { client_secret: secret }, method);
    config[customFetch] = fetchThrough(auth, x.signal);
    config.timeout = PROVIDER_TIMEOUT_MS / 1000;
    if (this.endpoints.authorization.protocol === "http:" || this.endpoints.token.protocol === "http:") allowInsecureRequests(config);
    return config;
  }

  async authorizationUrl(x: ActionExecution, auth: AuthRuntime, p: AuthorizationParams): Promise<URL> {
    const extra = Object.fromEntries(this.params.map(([k, t]) => [k, t.render(x.scope)]));
    return buildAuthorizationUrl(this.config(x, auth), authorizationRequest(extra, this.scope, p, false));
  }

  async complete(x: ActionExecution, auth: AuthRuntime, callback: URL, flow: LoginFlow, redirectUri: string): Promise<LoginResult> {
    const tokens = await authorizationCodeGrant(
      this.config(x, auth),
      callback,
      { pkceCodeVerifier: flow.verifier, expectedState: flow.state, idTokenExpected: false },
      { redirect_uri: redirectUri },
    );
    const identity = await this.userinfo(x, auth, tokens.access_token);
    return { identity, accessToken: tokens.access_token, refreshToken: tokens.refresh_token };
  }

  async userinfo(x: ActionExecution, auth: AuthRuntime, accessToken: string): Promise<Identity> {
    const headers = {
      accept: "application/json",
      authorization: `Bearer ${accessToken}`,
      // GitHub refuses API requests without a User-Agent.
      "user-agent": "onramp",
      ...this.spec.userinfoHeaders?.(this.clientId.render(x.scope)),
    };
    const get = async (url: string): Promise<unknown> => {
      const timeout = AbortSignal.timeout(PROVIDER_TIMEOUT_MS);
      const signal = x.signal ? AbortSignal.any([timeout, x.signal]) : timeout;
      const res = await auth.fetch(url, { headers, signal, redirect: "manual" });
      if (!res.ok) {
        await res.body?.cancel();
        throw new ProviderHttpError(url, res.status);
      }
      return res.json();
    };
    const url = this.endpoints.userinfo.href;
    const info = await get(url);
    const identity = await this.spec.identity(typeof info === "object" && info !== null ? (info as Record<string, unknown>) : {}, url, get);
    if (!identity.sub) throw new ProviderHttpError(url, 502);
    return identity;
  }
}

/**
 * `oauth`: browser login with one of ngrok's OAuth providers (`provider`), with the customer's own
 * app (`client_id`, `client_secret`: Onramp has no managed apps). `authorization_endpoint`,
 * `token_endpoint` and `userinfo_endpoint` override the provider's (GitHub Enterprise, tests).
 */
export const oauth: ActionDefinition = {
  type: "oauth",
  phases: ["on_http_request"],
  compile(config) {
    const names = [...OAUTH_PROVIDERS.keys()];
    const name = config.string("provider", { required: true, oneOf: names });
    const spec = name === undefined ? undefined : OAUTH_PROVIDERS.get(name);
    const clientIdNode = config.node("client_id");
    const clientId = config.template("client_id");
    const clientSecretNode = config.node("client_secret");
    const clientSecret = config.template("client_secret");
    const missing = "is required: Onramp has no managed OAuth apps, register your own with the provider (redirect URI: <endpoint URL>/ngrok/callback)";
    if (!clientIdNode) config.cursor.key("client_id", undefined).error(missing);
    if (!clientSecretNode) config.cursor.key("client_secret", undefined).error(missing);
    const scopes = (config.stringList("scopes") ?? []).map((s) => s.value);
    const params = (config.templateMap("authz_url_params") ?? []).map((p) => p.value);
    const authorization = readProviderUrl(config, "authorization_endpoint", false);
    const token = readProviderUrl(config, "token_endpoint", false);
    const userinfo = readProviderUrl(config, "userinfo_endpoint", false);
    const settings = readAuthSettings(config, "oauth", name ?? "oauth");
    config.finish();
    if (!name || !spec || !clientId || !clientSecret) return undefined;
    const endpoints: Endpoints = {
      authorization: authorization ?? new URL(spec.authorizationEndpoint),
      token: token ?? new URL(spec.tokenEndpoint),
      userinfo: userinfo ?? new URL(spec.userinfoEndpoint),
    };
    const scope = [...new Set([...spec.scopes, ...scopes])].join(" ");
    const provider = new OAuthProvider(name, spec, endpoints, clientId, clientSecret, scope, params);
    return { type: "oauth", alwaysTerminates: false, run: (x) => runAuth(x, settings, provider) };
  },
};
