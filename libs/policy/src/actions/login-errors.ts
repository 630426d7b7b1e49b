import { AuthorizationResponseError, ClientError, ResponseBodyError, WWWAuthenticateChallengeError } from "openid-client";

/** Why a login step failed: `error.code`/`error.message` of the action's result, and the status answered. */
export interface LoginFailure {
  readonly code: string;
  readonly message: string;
  /** 401: the provider refused (bad code, rejected token, claims that do not validate); 503: it could not be reached. */
  readonly status: 401 | 503;
}

/** A provider's API (user info of an `oauth` provider) answered with a non-2xx status. */
export class ProviderHttpError extends Error {
  override readonly name = "ProviderHttpError";
  constructor(
    readonly url: string,
    readonly status: number,
  ) {
    super(`${url} answered HTTP ${status}`);
  }
}

/** Responses that say the provider is down or not what the config says, rather than that it refused. */
const UNAVAILABLE_CODES = new Set(["OAUTH_RESPONSE_IS_NOT_CONFORM", "OAUTH_RESPONSE_IS_NOT_JSON"]);

export function describeLoginError(err: unknown): LoginFailure {
  if (err instanceof ResponseBodyError) {
    if (err.status >= 500) return { code: "provider_unavailable", message: `the identity provider answered HTTP ${err.status}`, status: 503 };
    return { code: "token_exchange_failed", message: `the identity provider refused the login (${err.error})`, status: 401 };
  }
  if (err instanceof AuthorizationResponseError) return { code: "provider_error", message: `the identity provider answered ${JSON.stringify(err.error)}`, status: 401 };
  if (err instanceof WWWAuthenticateChallengeError) return { code: "token_rejected", message: "the identity provider rejected the access token", status: 401 };
  if (err instanceof ProviderHttpError) {
    if (err.status === 401 || err.status === 403) return { code: "token_rejected", message: `${err.url} rejected the access token`, status: 401 };
    return { code: "provider_unavailable", message: err.message, status: 503 };
  }
  if (err instanceof ClientError) {
    if (err.code !== undefined && UNAVAILABLE_CODES.has(err.code)) return { code: "provider_unavailable", message: `the identity provider gave ${err.message}`, status: 503 };
    return { code: "invalid_provider_response", message: `the identity provider's answer did not validate (${err.message})`, status: 401 };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: "provider_unreachable", message: `the identity provider could not be reached (${message})`, status: 503 };
}
