import { ErrorCode, OnrampError } from "@onramp/errors";
import type { IncomingMessage, ServerResponse } from "node:http";
import { isJson, methodNotAllowed, readJsonBody, sendApiError, sendJson } from "./api-replies.js";
import type { CapturedExchange } from "./captured-exchange.js";
import { serveEventStream } from "./event-stream.js";
import { exchangeJson, REQUESTS_PATH } from "./exchange-json.js";
import type { ExchangeStore } from "./exchange-store.js";
import { parseReplayRequest, type ReplayEdits } from "./replay-request.js";

/** The header naming a replay's own exchange in the 204 (Onramp's: ngrok's 204 says nothing). */
export const REPLAY_ID_HEADER = "onramp-replay-id";

export interface RequestsApi {
  store: ExchangeStore;
  /** Starts a replay and returns its exchange; throws an OnrampError for a request it cannot replay. */
  replay(original: CapturedExchange, edits: ReplayEdits, clientAddr: string): CapturedExchange;
}

/**
 * ngrok's agent API for captured requests (https://ngrok.com/docs/agent/api/):
 *   GET    /api/requests/http[?limit=N&tunnel_name=URL]  list, newest first
 *   POST   /api/requests/http {"id", …edits}              replay, 204
 *   DELETE /api/requests/http                             clear, 204
 *   GET    /api/requests/http/:id                         one request
 * and Onramp's `GET /api/requests/http/stream` (Server-Sent Events, see event-stream.ts).
 * Returns false for a path it does not serve.
 */
export async function serveRequestsApi(req: IncomingMessage, res: ServerResponse, url: URL, api: RequestsApi): Promise<boolean> {
  const path = url.pathname.replace(/\/+$/, "");
  if (path === REQUESTS_PATH) {
    if (req.method === "GET" || req.method === "HEAD") listRequests(res, url, api.store);
    else if (req.method === "POST") await replay(req, res, api);
    else if (req.method === "DELETE") {
      api.store.clear();
      res.writeHead(204).end();
    } else methodNotAllowed(res, req.method, path, ["GET", "POST", "DELETE"]);
    return true;
  }
  if (path === `${REQUESTS_PATH}/stream`) {
    if (req.method === "GET") serveEventStream(res, api.store);
    else methodNotAllowed(res, req.method, path, ["GET"]);
    return true;
  }
  if (path.startsWith(`${REQUESTS_PATH}/`)) {
    const id = path.slice(REQUESTS_PATH.length + 1);
    if (req.method !== "GET" && req.method !== "HEAD") methodNotAllowed(res, req.method, path, ["GET"]);
    else {
      const exchange = api.store.get(id);
      if (exchange) sendJson(res, 200, exchangeJson(exchange));
      else sendApiError(res, notFound(id));
    }
    return true;
  }
  return false;
}

function listRequests(res: ServerResponse, url: URL, store: ExchangeStore): void {
  const limitText = url.searchParams.get("limit");
  let limit: number | undefined;
  if (limitText !== null) {
    limit = /^\d{1,9}$/.test(limitText) ? Number(limitText) : NaN;
    if (!(limit >= 1)) return sendApiError(res, new OnrampError(ErrorCode.InvalidArgument, `limit: ${JSON.stringify(limitText)} is not a whole number of at least 1`));
  }
  const endpointUrl = url.searchParams.get("tunnel_name") ?? undefined;
  const now = Date.now();
  sendJson(res, 200, { uri: REQUESTS_PATH, requests: store.list({ limit, endpointUrl }).map((x) => exchangeJson(x, now)) });
}

async function replay(req: IncomingMessage, res: ServerResponse, api: RequestsApi): Promise<void> {
  if (!isJson(req)) {
    return sendApiError(res, new OnrampError(ErrorCode.InvalidArgument, "send the replay as JSON, with Content-Type: application/json"), 415);
  }
  const { id, edits } = parseReplayRequest(await readJsonBody(req));
  const original = api.store.get(id);
  if (!original) return sendApiError(res, notFound(id));
  const exchange = api.replay(original, edits, `${req.socket.remoteAddress ?? ""}:${req.socket.remotePort ?? ""}`);
  res.writeHead(204, { [REPLAY_ID_HEADER]: exchange.id }).end();
}

function notFound(id: string): OnrampError {
  return new OnrampError(ErrorCode.NotFound, `no captured request with id ${JSON.stringify(id)} (the inspector keeps the latest ones only)`);
}
