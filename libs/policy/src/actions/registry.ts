import type { ActionDefinition } from "../action-types.js";
import { basicAuth } from "./basic-auth.js";
import { circuitBreaker } from "./circuit-breaker.js";
import { compressResponse } from "./compress-response.js";
import { forwardInternal } from "./forward-internal.js";
import { addHeaders, removeHeaders } from "./headers.js";
import { httpRequest } from "./http-request.js";
import { jwtValidation } from "./jwt-validation.js";
import { log } from "./log.js";
import { oauth } from "./oauth.js";
import { openidConnect } from "./openid-connect.js";
import { rateLimit } from "./rate-limit.js";
import { redirect } from "./redirect.js";
import { closeConnection, customResponse, deny } from "./responses.js";
import { restrictIps } from "./restrict-ips.js";
import { setVars } from "./set-vars.js";
import { terminateTls } from "./terminate-tls.js";
import { urlRewrite } from "./url-rewrite.js";
import { verifyWebhook, webhookValidation } from "./verify-webhook.js";
import { requestBodyFindReplace, responseBodyFindReplace } from "./body-find-replace.js";

/** Every action type Onramp understands, by its ngrok `type` name. */
export const ACTIONS: ReadonlyMap<string, ActionDefinition> = new Map(
  [
    addHeaders,
    removeHeaders,
    customResponse,
    deny,
    redirect,
    urlRewrite,
    forwardInternal,
    restrictIps,
    basicAuth,
    jwtValidation,
    openidConnect,
    oauth,
    rateLimit,
    setVars,
    log,
    compressResponse,
    closeConnection,
    circuitBreaker,
    verifyWebhook,
    webhookValidation,
    requestBodyFindReplace,
    responseBodyFindReplace,
    httpRequest,
    terminateTls,
  ].map((a) => [a.type, a]),
);
