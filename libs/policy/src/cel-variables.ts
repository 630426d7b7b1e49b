import { CONN_TLS_TYPE } from "./conn-tls.js";
import type { PolicyPhase } from "./policy-error.js";
import { BOOL, DURATION, DYN, INT, STRING, TIMESTAMP, type Ty, listOf, mapOf, prim, record, unsupported } from "./cel-types.js";
import { NO_IP_INTELLIGENCE, clientIpType, legacyGeoType } from "./ip-intelligence-types.js";

/**
 * The types of the CEL variables, as request-view.ts builds them. The checker (cel-check.ts)
 * rejects at load an expression that reads a field not declared here or uses a value with the
 * wrong type; cel-variables.test.ts checks that every declared field has its declared type at
 * run time.
 */

const HEADERS = mapOf(STRING, listOf(STRING));
const COOKIE = record("cookie", { name: STRING, value: STRING });

const CONN = record("conn", {
  // Typed here as on an edge without GeoIP data; ip-intelligence-environment.ts retypes both per policy load.
  client_ip: clientIpType(NO_IP_INTELLIGENCE),
  geo: legacyGeoType(NO_IP_INTELLIGENCE),
  client_port: INT,
  server_ip: STRING,
  server_port: INT,
  server_region: STRING,
  bytes_in: INT,
  bytes_out: INT,
  ts: record("conn.ts", { start: TIMESTAMP }),
  tls: CONN_TLS_TYPE,
});

const USER_AGENT = record(
  "req.user_agent",
  {
    raw: STRING,
    name: STRING,
    version: STRING,
    os: STRING,
    os_version: STRING,
    is_mobile: BOOL,
    is_tablet: BOOL,
    is_desktop: BOOL,
    device_type: STRING,
    device: STRING,
    url: STRING,
    is_bot: BOOL,
    browser: record("req.user_agent.browser", { name: STRING, version: STRING }),
  },
  { stringForm: true },
);

const BODY_RECEIVED = unsupported(
  "req.ts.body_received is not available in Onramp: the policy runs when the request head arrives and the body is streamed to the upstream afterwards",
);

const REQ = record("req", {
  method: STRING,
  host: STRING,
  headers: HEADERS,
  content_length: INT,
  content_type: record("req.content_type", { raw: STRING, parameters: mapOf(STRING, STRING) }, { stringForm: true }),
  content_encoding: listOf(STRING),
  cookies: mapOf(STRING, listOf(COOKIE)),
  location: STRING,
  trailers: HEADERS,
  ts: record("req.ts", { header_received: TIMESTAMP, body_received: BODY_RECEIVED }),
  url: record(
    "req.url",
    {
      path: STRING,
      query: STRING,
      query_params: mapOf(STRING, listOf(STRING)),
      raw: STRING,
      raw_path: STRING,
      scheme: STRING,
      host: STRING,
      port: INT,
      authority: STRING,
      uri: STRING,
      user_password: STRING,
    },
    { stringForm: true },
  ),
  user_agent: USER_AGENT,
  version: STRING,
});

/** A `Set-Cookie` cookie (set-cookie.ts). */
const RES_COOKIE = record("res.cookie", {
  name: STRING,
  value: STRING,
  path: STRING,
  domain: STRING,
  expires: TIMESTAMP,
  max_age: DURATION,
  secure: BOOL,
  http_only: BOOL,
  same_site: STRING,
  unparsed_attributes: mapOf(STRING, STRING),
});

const RES = record("res", {
  status_code: INT,
  headers: HEADERS,
  content_type: record("res.content_type", { raw: STRING, parameters: mapOf(STRING, STRING) }, { stringForm: true }),
  content_encoding: listOf(STRING),
  content_length: INT,
  cookies: mapOf(STRING, listOf(RES_COOKIE)),
  location: STRING,
  trailers: HEADERS,
});
const ENDPOINT = record("endpoint", { id: STRING, url: STRING, host: STRING, protocol: STRING, port: INT, addr: STRING });
/** ngrok types `time.now` as an RFC 3339 string; `timestamp(time.now)` makes it a timestamp. */
const TIME = record("time", { now: STRING });

/** `actions.ngrok.oidc` and `actions.ngrok.oauth` (actions/auth-flow.ts); they differ in the session id's name. */
function loginResult(name: "oidc" | "oauth", sessionIdField: string): Ty {
  const result: Record<string, Ty> = {
    identity: record(`${name}.identity`, { id: STRING, email: STRING, name: STRING, provider_user_id: STRING, [sessionIdField]: STRING }),
    access_token: STRING,
    refresh_token: STRING,
    expires_at: STRING,
    session_timed_out: BOOL,
    session_max_duration_reached: BOOL,
    userinfo_refreshed: BOOL,
    error: record(`${name}.error`, { code: STRING, message: STRING }),
  };
  if (name === "oidc") result["identity_token"] = STRING;
  return record(name, result);
}

/**
 * `actions.ngrok.<result>`: what each action records with `setResult` (see actions/*.ts). A result
 * is there only once its action has run in this request, so reading one before is a run-time error.
 */
const ACTION_RESULTS = record("actions.ngrok", {
  add_headers: record("add_headers", { headers_added: mapOf(STRING, STRING) }),
  remove_headers: record("remove_headers", { headers_removed: listOf(STRING) }),
  basic_auth: record("basic_auth", {
    credentials: record("basic_auth.credentials", { presented: BOOL, username: STRING, authorized: BOOL }),
  }),
  compress: record("compress", { already_compressed: BOOL, negotiated_algorithm: STRING }),
  forward_internal: record("forward_internal", { url: STRING }),
  http_request: record("http_request", {
    req: record("http_request.req", { method: STRING, url: STRING, header: HEADERS, body: STRING }),
    res: record("http_request.res", { status_code: INT, header: HEADERS, body: STRING, time_ms: INT, resolved_ip: STRING }),
    attempts: listOf(mapOf(STRING, DYN)),
    error: record("http_request.error", { code: STRING, message: STRING }),
  }),
  jwt_validation: record("jwt_validation", {
    tokens: listOf(mapOf(STRING, DYN)),
    error: record("jwt_validation.error", { code: STRING, message: STRING }),
  }),
  oidc: loginResult("oidc", "current_session_id"),
  oauth: loginResult("oauth", "current_provider_session_id"),
  log: record("log", { metadata: mapOf(STRING, DYN) }),
  rate_limit: record("rate_limit", { bucket_key: STRING, limited: BOOL, remaining: INT }),
  redirect: record("redirect", { url: STRING }),
  restrict_ips: record("restrict_ips", { action: STRING, matched_cidr: STRING }),
  url_rewrite: record("url_rewrite", { url: STRING }),
  verify_webhook: record("verify_webhook", { verified: BOOL, error: record("verify_webhook.error", { code: STRING, message: STRING }) }),
  request_body_find_replace: record("request_body_find_replace", { replacements: listOf(mapOf(STRING, DYN)) }),
  response_body_find_replace: record("response_body_find_replace", { replacements: listOf(mapOf(STRING, DYN)) }),
});

export const VARIABLES: Readonly<Record<string, Ty>> = {
  conn: CONN,
  req: REQ,
  res: RES,
  endpoint: ENDPOINT,
  time: TIME,
  vars: mapOf(STRING, DYN),
  actions: record("actions", { ngrok: ACTION_RESULTS }),
};

/** Type names usable as values: `type(x) == string`. */
export const TYPE_NAMES = new Set(["int", "uint", "double", "bool", "string", "bytes", "list", "map", "null_type", "type", "dyn"]);
export const TYPE = prim("type");

/** The variables a phase has. */
export function rootsFor(phase: PolicyPhase): ReadonlySet<string> {
  const roots = new Set(["conn", "endpoint", "time", "vars", "actions"]);
  if (phase !== "on_tcp_connect") roots.add("req");
  if (phase === "on_http_response") roots.add("res");
  return roots;
}
