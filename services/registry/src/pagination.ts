import type { Page, PageRequest } from "@onramp/registry";
import { invalidField } from "./input.js";
import { ok, type Reply } from "./route.js";

/** The contract's default page size; the store applies the same. */
export const DEFAULT_LIMIT = 100;
/** Bounds one etcd response and one answer (the store refuses more). */
export const MAX_LIMIT = 1_000;

/** `?limit=N&cursor=C` as a page request; `limit` is a whole number from 1 to 1000, default 100. */
export function pageRequestOf(query: URLSearchParams): { limit: number; cursor?: string } {
  const text = query.get("limit");
  const limit = text === null ? DEFAULT_LIMIT : /^\d{1,4}$/.test(text) ? Number(text) : NaN;
  if (!(limit >= 1 && limit <= MAX_LIMIT)) throw invalidField("limit", `must be a whole number from 1 to ${MAX_LIMIT}`);
  const cursor = query.get("cursor");
  return cursor ? { limit, cursor } : { limit };
}

/**
 * `{"<resource>": [...], "next_page_uri": …}`: the next page's URI repeats the limit, so a client
 * follows it as is; null on the last page.
 */
export function listReply<T>(resource: string, page: Page<T>, limit: number, view: (item: T) => unknown): Reply {
  const next = page.next_cursor === undefined ? null : `/v1/${resource}?limit=${limit}&cursor=${encodeURIComponent(page.next_cursor)}`;
  return ok({ [resource]: page.items.map(view), next_page_uri: next });
}

/** Every item of a paginated store list, a page of the largest size at a time. */
export async function everyItem<T>(list: (page: PageRequest) => Promise<Page<T>>): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | undefined;
  do {
    const page = await list(cursor === undefined ? { limit: MAX_LIMIT } : { limit: MAX_LIMIT, cursor });
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor !== undefined);
  return items;
}
