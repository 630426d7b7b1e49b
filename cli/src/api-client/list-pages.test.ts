import { describe, expect, it } from "vitest";
import type { ApiClient, ApiResponse } from "./api-client.js";
import { listPages } from "./list-pages.js";

/** A client answering from a table of paths, recording what was asked. */
function fakeClient(base: string, pages: Record<string, unknown>): ApiClient & { asked: string[] } {
  const asked: string[] = [];
  return {
    baseUrl: new URL(base),
    asked,
    async send(_method, path): Promise<ApiResponse> {
      asked.push(path);
      const body = pages[path];
      return body === undefined ? { status: 404, body: undefined, text: "", url: path } : { status: 200, body, text: JSON.stringify(body), url: path };
    },
  };
}

describe("listPages", () => {
  it("follows relative and same-origin absolute next_page_uri values", async () => {
    const client = fakeClient("http://api.test/base", {
      "/v1/edges": { edges: [1], next_page_uri: "/v1/edges?cursor=a" },
      "/v1/edges?cursor=a": { edges: [2], next_page_uri: "http://api.test/base/v1/edges?cursor=b" },
      "/v1/edges?cursor=b": { edges: [3], next_page_uri: null },
    });
    const outcome = await listPages(client, "edges");
    expect(outcome.ok && outcome.result.items).toEqual([1, 2, 3]);
    expect(client.asked).toEqual(["/v1/edges", "/v1/edges?cursor=a", "/v1/edges?cursor=b"]);
  });

  it("never sends the key elsewhere: a next_page_uri on another origin is refused", async () => {
    const client = fakeClient("http://api.test", { "/v1/edges": { edges: [], next_page_uri: "http://evil.test/v1/edges?cursor=a" } });
    await expect(listPages(client, "edges")).rejects.toThrow("next_page_uri http://evil.test/v1/edges?cursor=a is not on http://api.test/; not following it");
  });

  it("hands back a failed page, and refuses a body without the list", async () => {
    const client = fakeClient("http://api.test", { "/v1/edges?limit=5": { something: "else" } });
    expect(await listPages(client, "api_keys")).toMatchObject({ ok: false, response: { status: 404 } });
    await expect(listPages(client, "edges", 5)).rejects.toThrow("/v1/edges?limit=5 answered without a \"edges\" list; is --api-url the Onramp API?");
  });
});
