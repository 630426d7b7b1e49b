import { ErrorCode, OnrampError } from "@onramp/errors";
import type { ApiClient, ApiResponse } from "./api-client.js";

/** The API's page size limits (docs/api.md, Pagination). */
export const MAX_PAGE_SIZE = 1000;

/** What a list command read: every item, each page as received, and where the next page is when one page was asked for. */
export interface ListResult {
  readonly items: unknown[];
  readonly pages: ApiResponse[];
  /** `next_page_uri` of the last page read: null once everything was read. */
  readonly next: string | null;
}

/** A failed page: the caller reports it as any other non-2xx answer. */
export type ListOutcome = { ok: true; result: ListResult } | { ok: false; response: ApiResponse };

/**
 * Lists `resource` (`authtokens`, `cloud_endpoints`, …): one page of `limit` items when a limit
 * is given, else every page, following `next_page_uri` until it is null.
 */
export async function listPages(client: ApiClient, resource: string, limit?: number, signal?: AbortSignal): Promise<ListOutcome> {
  const items: unknown[] = [];
  const pages: ApiResponse[] = [];
  const seen = new Set<string>();
  let path: string | null = `/v1/${resource}${limit === undefined ? "" : `?limit=${limit}`}`;
  while (path !== null) {
    seen.add(path);
    const response = await client.send("GET", path, undefined, signal);
    if (response.status < 200 || response.status > 299) return { ok: false, response };
    const body = response.body as Record<string, unknown> | undefined;
    const page = body?.[resource];
    if (!Array.isArray(page)) throw new OnrampError(ErrorCode.Internal, `${response.url} answered without a \"${resource}\" list; is --api-url the Onramp API?`);
    items.push(...page);
    pages.push(response);
    const next = nextPath(client, body?.next_page_uri);
    if (limit !== undefined || next === null) return { ok: true, result: { items, pages, next } };
    // A cursor that comes back would loop forever; the API must move on.
    if (seen.has(next)) throw new OnrampError(ErrorCode.Internal, `the API returned next_page_uri ${next} twice; stopping`);
    path = next;
  }
  return { ok: true, result: { items, pages, next: null } };
}

/**
 * `next_page_uri` as a path below the base URL. The API gives `/v1/…`; an absolute URL is taken
 * only on the API's own origin, so the API key is never sent anywhere else.
 */
function nextPath(client: ApiClient, uri: unknown): string | null {
  if (uri === null || uri === undefined || uri === "") return null;
  if (typeof uri !== "string") throw new OnrampError(ErrorCode.Internal, `next_page_uri is not a string: ${JSON.stringify(uri)}`);
  if (uri.startsWith("/v1/")) return uri;
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new OnrampError(ErrorCode.Internal, `next_page_uri ${JSON.stringify(uri)} is neither /v1/… nor a URL`);
  }
  const basePath = client.baseUrl.pathname.replace(/\/+$/, "");
  if (url.origin !== client.baseUrl.origin || !url.pathname.startsWith(`${basePath}/v1/`)) {
    throw new OnrampError(ErrorCode.Internal, `next_page_uri ${uri} is not on ${client.baseUrl.href}; not following it`);
  }
  return url.pathname.slice(basePath.length) + url.search;
}
