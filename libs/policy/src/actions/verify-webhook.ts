import { type ActionDefinition, NEXT } from "../action-types.js";
import { engineResponse } from "../outcome.js";
import { readRequestBody } from "../request-body.js";
import { WEBHOOK_PROVIDERS } from "./webhook-providers.js";

/**
 * `verify-webhook` (older name `webhook-validation`): checks the provider's signature over the
 * raw request body (and timestamp or URL, as each provider signs) with `secret` (`${…}` allowed,
 * e.g. from `vars`). The body is read up to the edge's policy limit and forwarded as received.
 * A failed check answers 403 `WEBHOOK_VERIFICATION_FAILED`, unless `enforce: false`, which lets
 * later rules decide from `actions.ngrok.verify_webhook.verified` / `.error.code` / `.error.message`.
 */
function definition(type: string): ActionDefinition {
  return {
    type,
    phases: ["on_http_request"],
    compile(config) {
      const known = [...WEBHOOK_PROVIDERS.keys()];
      const providerNode = config.node("provider", true);
      const provider = config.string("provider");
      const check = provider === undefined ? undefined : WEBHOOK_PROVIDERS.get(provider.toLowerCase());
      if (providerNode && provider !== undefined && !check) {
        providerNode.cursor.error(`unsupported provider ${JSON.stringify(provider)} (Onramp verifies: ${known.join(", ")})`);
      }
      const secret = config.template("secret", { required: true });
      if (secret?.constant === "") config.cursor.key("secret", undefined).error("must not be empty");
      const enforce = config.bool("enforce", true);
      config.finish();
      if (!check || !secret || secret.constant === "") return undefined;
      return {
        type,
        alwaysTerminates: false,
        readsRequestBody: true,
        async run(x) {
          const view = x.view;
          if (!view) return NEXT;
          const body = await readRequestBody(x);
          const key = secret.render(x.scope);
          const proto = view.request.headers.get("x-forwarded-proto")?.[0] ?? view.request.scheme;
          const failure =
            key === ""
              ? { code: "missing_secret", message: "the secret is empty" }
              : check({ method: view.request.method, url: `${proto}://${view.request.host}${view.pathAndQuery()}`, headers: view.request.headers, body, nowMs: x.rt.now() }, key);
          x.setResult("verify_webhook", failure ? { verified: false, error: { code: failure.code, message: failure.message } } : { verified: true });
          if (!failure || !enforce) return NEXT;
          return {
            kind: "respond",
            response: engineResponse(403, "WEBHOOK_VERIFICATION_FAILED", `Forbidden: webhook verification failed: ${failure.message}.`),
          };
        },
      };
    },
  };
}

export const verifyWebhook = definition("verify-webhook");
/** ngrok's earlier name for the same action. */
export const webhookValidation = definition("webhook-validation");
