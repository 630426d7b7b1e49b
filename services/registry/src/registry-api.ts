import { ErrorCode, OnrampError } from "@onramp/errors";
import type { ApiKeyRecord } from "@onramp/registry";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createApiKeyAuth } from "./api-key-auth.js";
import { readJsonObject } from "./http-body.js";
import { errorReply, sendReply } from "./http-reply.js";
import { createMeshObserver } from "./mesh-observer.js";
import { openApiDocument } from "./openapi.js";
import { resolveRegistryApiOptions, type RegistryApiOptions } from "./options.js";
import { createRouter, type RouteMatch } from "./router.js";
import type { ApiRequest, Reply, Route } from "./route.js";
import { resolveSchema, ROUTES } from "./routes.js";

export interface RegistryApi {
  /** Serves one request: a `node:http` request listener, for a server of its own or one shared with other paths. */
  handle(req: IncomingMessage, res: ServerResponse): void;
  /** The OpenAPI 3.1 document (also served at `GET /openapi.json`). */
  openapi(): object;
  /**
   * Resolves once the bootstrap keys are stored; rejects (REGISTRY_UNAVAILABLE, for etcd) when
   * they could not be, and a later call tries again. Requests that come earlier wait for it.
   */
  ready(): Promise<void>;
  /** Stops listening to the bus; the bus and the store stay open (their owners close them). */
  close(): void;
}

const NO_KEY_HINT =
  "; this API was started without an API key: pass --api-key KEY (or set ONRAMP_API_KEY) to the onramp process serving it (generate one with: openssl rand -hex 32)";

/** The registry REST API (the contract in docs/openapi.json) over a `ControlStore`. */
export function createRegistryApi(options: RegistryApiOptions): RegistryApi {
  const o = resolveRegistryApiOptions(options);
  const match = createRouter(ROUTES);
  const document = openApiDocument();
  const auth = createApiKeyAuth(o.store, o.keyCacheMs, o.apiKeys.length > 0 ? "" : NO_KEY_HINT);
  const fieldsByRoute = new Map(ROUTES.map((route) => [route, fieldsOf(route)]));
  const mesh = createMeshObserver(o.bus, o.logger);

  const storeBootstrapKeys = () => {
    const attempt = (async () => {
      for (const key of o.apiKeys) {
        const record = await o.store.ensureBootstrapApiKey(key);
        o.logger.debug({ api_key: record.id }, "bootstrap API key stored");
      }
    })();
    attempt.catch(() => undefined); // the caller of ready() hears of it; requests only wait for it
    return attempt;
  };
  let bootstrap = storeBootstrapKeys();

  const ready = async () => {
    try {
      await bootstrap;
    } catch {
      bootstrap = storeBootstrapKeys();
      await bootstrap;
    }
  };

  /** `sent` collects the body's field names, for an error about one the route does not take. */
  async function answer(req: IncomingMessage, found: RouteMatch, query: URLSearchParams, sent: string[]): Promise<{ reply: Reply; headers: Record<string, string> }> {
    const isPublic = (found.kind === "route" && found.route.public === true) || (found.kind === "method-not-allowed" && found.public);
    let caller: ApiKeyRecord | undefined;
    if (!isPublic) {
      await bootstrap.catch(() => undefined);
      caller = await auth.authenticate(req.headers.authorization);
    }
    switch (found.kind) {
      case "not-found":
        throw new OnrampError(ErrorCode.NotFound, "no such path; the API's paths are listed at /openapi.json");
      case "method-not-allowed": {
        const allowed = found.allowed.join(", ");
        const error = new OnrampError(ErrorCode.InvalidArgument, `method ${req.method} is not allowed on this path; it takes ${allowed}`);
        return { reply: { kind: "error", error, status: 405, details: { allowed: found.allowed } }, headers: { allow: allowed } };
      }
      case "route": {
        let body: Promise<Record<string, unknown>> | undefined;
        const request: ApiRequest = {
          params: found.params,
          query,
          body: () =>
            (body ??= readJsonObject(req, o.maxBodyBytes).then((object) => {
              sent.push(...Object.keys(object));
              return object;
            })),
          caller,
          store: o.store,
          mesh,
          forgetApiKey: (id) => auth.forget(id),
          openapi: () => document,
        };
        return { reply: await found.route.handle(request), headers: {} };
      }
    }
  }

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q < 0 ? url : url.slice(0, q);
    const found = match(req.method ?? "GET", path);
    const sent: string[] = [];
    let outcome: { reply: Reply; headers: Record<string, string> };
    try {
      outcome = await answer(req, found, new URLSearchParams(q < 0 ? "" : url.slice(q + 1)), sent);
    } catch (err) {
      outcome = { reply: errorReply(err, found.kind === "route" ? [...fieldsByRoute.get(found.route)!, ...sent] : []), headers: {} };
    }
    const { reply, headers } = outcome;
    if (reply.kind === "error" && reply.error.code === ErrorCode.Unauthorized) headers["www-authenticate"] = 'Bearer realm="onramp"';
    const status = sendReply(res, reply, headers);
    const fields = { method: req.method, path, status, ms: Math.round(performance.now() - started) };
    if (reply.kind !== "error" || status < 500) o.logger.debug(fields, "registry API request");
    else if (reply.error.code === ErrorCode.Internal) o.logger.error({ ...fields, err: reply.error.cause }, "registry API request failed");
    else o.logger.warn({ ...fields, err: reply.error.message }, "registry API request failed");
  }

  return {
    handle(req, res) {
      serve(req, res).catch((err: unknown) => {
        // Only writing the answer can fail here (the client went away).
        o.logger.debug({ err }, "registry API answer not delivered");
        res.destroy();
      });
    },
    openapi: () => document,
    ready,
    close: () => mesh.close(),
  };
}

/** The names an INVALID_ARGUMENT of this route may be about: its body's fields, and a list's `limit` and `cursor`. */
function fieldsOf(route: Route): string[] {
  const body = route.doc.body && resolveSchema(route.doc.body);
  return [...(route.doc.paginated ? ["limit", "cursor"] : []), ...Object.keys((body?.properties as object | undefined) ?? {})];
}
