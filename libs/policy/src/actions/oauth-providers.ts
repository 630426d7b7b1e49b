import type { Identity } from "./auth-flow.js";

/** Reads JSON from a provider API with the user's access token. */
export type ProviderGet = (url: string) => Promise<unknown>;

/** An OAuth 2.0 provider of the `oauth` action: its endpoints, default scopes and how to read the user. */
export interface OAuthProviderSpec {
  readonly authorizationEndpoint: string;
  readonly tokenEndpoint: string;
  readonly userinfoEndpoint: string;
  /** Requested always; the action's `scopes` are added to these. */
  readonly scopes: readonly string[];
  /** How the client authenticates at the token endpoint (what the provider documents). */
  readonly clientAuth: "client_secret_post" | "client_secret_basic";
  /** Headers the user info API needs besides the bearer token (Twitch wants the client id). */
  readonly userinfoHeaders?: (clientId: string) => Record<string, string>;
  /** The user, from the user info endpoint's JSON; may read more with `get`. */
  identity(info: Record<string, unknown>, userinfoUrl: string, get: ProviderGet): Promise<Identity>;
}

const text = (v: unknown): string => (typeof v === "string" ? v : typeof v === "number" || typeof v === "bigint" ? String(v) : "");
const record = (v: unknown): Record<string, unknown> => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {});

/** An OpenID Connect user info response (`sub`, `email`, `name`). */
async function standardClaims(info: Record<string, unknown>): Promise<Identity> {
  return { sub: text(info["sub"]), email: text(info["email"]), name: text(info["name"]) };
}

/**
 * GitHub's `/user` has `email: null` when the user keeps it private; `/user/emails` (scope
 * `user:email`) then gives the primary verified address.
 */
async function github(info: Record<string, unknown>, userinfoUrl: string, get: ProviderGet): Promise<Identity> {
  let email = text(info["email"]);
  if (!email) {
    const list = await get(`${userinfoUrl.replace(/\/$/, "")}/emails`);
    const entries = Array.isArray(list) ? list.map(record) : [];
    const primary = entries.find((e) => e["primary"] === true && e["verified"] === true) ?? entries.find((e) => e["verified"] === true);
    email = text(primary?.["email"]);
  }
  return { sub: text(info["id"]), email, name: text(info["name"]) || text(info["login"]) };
}

/** The providers ngrok supports for `oauth`, by their `provider` name. */
export const OAUTH_PROVIDERS: ReadonlyMap<string, OAuthProviderSpec> = new Map<string, OAuthProviderSpec>([
  [
    "amazon",
    {
      authorizationEndpoint: "https://www.amazon.com/ap/oa",
      tokenEndpoint: "https://api.amazon.com/auth/o2/token",
      userinfoEndpoint: "https://api.amazon.com/user/profile",
      scopes: ["profile"],
      clientAuth: "client_secret_post",
      identity: async (i) => ({ sub: text(i["user_id"]), email: text(i["email"]), name: text(i["name"]) }),
    },
  ],
  [
    "facebook",
    {
      authorizationEndpoint: "https://www.facebook.com/v19.0/dialog/oauth",
      tokenEndpoint: "https://graph.facebook.com/v19.0/oauth/access_token",
      userinfoEndpoint: "https://graph.facebook.com/v19.0/me?fields=id,name,email",
      scopes: ["public_profile", "email"],
      clientAuth: "client_secret_post",
      identity: async (i) => ({ sub: text(i["id"]), email: text(i["email"]), name: text(i["name"]) }),
    },
  ],
  [
    "github",
    {
      authorizationEndpoint: "https://github.com/login/oauth/authorize",
      tokenEndpoint: "https://github.com/login/oauth/access_token",
      userinfoEndpoint: "https://api.github.com/user",
      scopes: ["read:user", "user:email"],
      clientAuth: "client_secret_post",
      identity: github,
    },
  ],
  [
    "gitlab",
    {
      authorizationEndpoint: "https://gitlab.com/oauth/authorize",
      tokenEndpoint: "https://gitlab.com/oauth/token",
      userinfoEndpoint: "https://gitlab.com/api/v4/user",
      scopes: ["read_user"],
      clientAuth: "client_secret_post",
      identity: async (i) => ({ sub: text(i["id"]), email: text(i["email"]), name: text(i["name"]) || text(i["username"]) }),
    },
  ],
  [
    "google",
    {
      authorizationEndpoint: "https://accounts.google.com/o/oauth2/v2/auth",
      tokenEndpoint: "https://oauth2.googleapis.com/token",
      userinfoEndpoint: "https://openidconnect.googleapis.com/v1/userinfo",
      scopes: ["openid", "email", "profile"],
      clientAuth: "client_secret_basic",
      identity: standardClaims,
    },
  ],
  [
    "linkedin",
    {
      authorizationEndpoint: "https://www.linkedin.com/oauth/v2/authorization",
      tokenEndpoint: "https://www.linkedin.com/oauth/v2/accessToken",
      userinfoEndpoint: "https://api.linkedin.com/v2/userinfo",
      scopes: ["openid", "profile", "email"],
      clientAuth: "client_secret_post",
      identity: standardClaims,
    },
  ],
  [
    "microsoft",
    {
      authorizationEndpoint: "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
      tokenEndpoint: "https://login.microsoftonline.com/common/oauth2/v2.0/token",
      userinfoEndpoint: "https://graph.microsoft.com/oidc/userinfo",
      scopes: ["openid", "email", "profile"],
      clientAuth: "client_secret_post",
      identity: standardClaims,
    },
  ],
  [
    "twitch",
    {
      authorizationEndpoint: "https://id.twitch.tv/oauth2/authorize",
      tokenEndpoint: "https://id.twitch.tv/oauth2/token",
      userinfoEndpoint: "https://api.twitch.tv/helix/users",
      scopes: ["user:read:email"],
      clientAuth: "client_secret_post",
      userinfoHeaders: (clientId) => ({ "client-id": clientId }),
      identity: async (i) => {
        const user = record(Array.isArray(i["data"]) ? i["data"][0] : undefined);
        return { sub: text(user["id"]), email: text(user["email"]), name: text(user["display_name"]) || text(user["login"]) };
      },
    },
  ],
]);
