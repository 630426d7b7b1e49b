import { describe, expect, it } from "vitest";
import { ExchangeStore, type StoreEvent } from "./exchange-store.js";
import { exchangeInfo, outcome } from "./test-exchanges.js";

const limits = { bodyBytes: 8, maxRequests: 3, maxTotalBodyBytes: 40 };

/** Records one whole exchange with the given bodies; returns its id. */
function record(store: ExchangeStore, path: string, requestBody = "", responseBody = "", endpointUrl = "https://app.example.com"): string {
  const { exchange, observer } = store.begin(exchangeInfo({ path, endpointUrl }));
  if (requestBody) observer.requestBody?.(Buffer.from(requestBody));
  observer.response?.(200, "OK", ["content-type", "text/plain"]);
  if (responseBody) observer.responseBody?.(Buffer.from(responseBody));
  observer.end(outcome(200));
  return exchange.id;
}

describe("ExchangeStore", () => {
  it("lists newest first, by endpoint and up to a limit, with ids that sort by age", () => {
    const store = new ExchangeStore(limits);
    const a = record(store, "/a");
    const b = record(store, "/b", "", "", "https://other.example.com");
    const c = record(store, "/c");
    expect([a < b, b < c]).toEqual([true, true]);
    expect(store.list().map((x) => x.request.path)).toEqual(["/c", "/b", "/a"]);
    expect(store.list({ limit: 2 }).map((x) => x.request.path)).toEqual(["/c", "/b"]);
    expect(store.list({ endpointUrl: "https://app.example.com" }).map((x) => x.request.path)).toEqual(["/c", "/a"]);
    expect(store.get(b)?.request.path).toBe("/b");
    for (const wrong of ["", "nonsense", b.slice(0, -1), b.replace(/.$/, "g"), `${b}0`.replace(/^./, "z")]) expect(store.get(wrong)).toBeUndefined();
  });

  it("finds every kept exchange by id after many times maxRequests, and none of the dropped", () => {
    const store = new ExchangeStore(limits);
    const ids = Array.from({ length: 20 }, (_, i) => record(store, `/${i}`));
    expect(ids.map((id) => store.get(id)?.request.path ?? null)).toEqual([...Array<null>(17).fill(null), "/17", "/18", "/19"]);
    expect(store.size().requests).toBe(3);
    expect([...ids].sort()).toEqual(ids);
  });

  it("keeps at most maxRequests, dropping the oldest and saying so", () => {
    const store = new ExchangeStore(limits);
    const events: StoreEvent[] = [];
    store.subscribe((e) => events.push(e));
    const ids = ["/1", "/2", "/3", "/4", "/5"].map((p) => record(store, p));
    expect(store.list().map((x) => x.request.path)).toEqual(["/5", "/4", "/3"]);
    expect(store.get(ids[0]!)).toBeUndefined();
    expect(events.filter((e) => e.kind === "evicted")).toEqual([{ kind: "evicted", id: ids[0] }, { kind: "evicted", id: ids[1] }]);
  });

  it("cuts each body at bodyBytes, says it was truncated, and counts every byte seen", () => {
    const store = new ExchangeStore(limits);
    const id = record(store, "/big", "0123456789abc", "short");
    const x = store.get(id)!;
    expect(x.request.body.bytes().toString()).toBe("01234567");
    expect([x.request.body.kept, x.request.body.seen, x.request.body.truncated]).toEqual([8, 13, true]);
    expect([x.responseBody.bytes().toString(), x.responseBody.truncated]).toEqual(["short", false]);
    expect(store.size()).toEqual({ requests: 1, bodyBytes: 13 });
  });

  it("keeps body bytes within maxTotalBodyBytes, dropping the oldest exchanges", () => {
    const store = new ExchangeStore({ ...limits, maxRequests: 100 });
    for (let i = 0; i < 6; i++) record(store, `/${i}`, "12345678", "12345678");
    // 16 bytes each: two fit in 40, a third would not.
    expect(store.list().map((x) => x.request.path)).toEqual(["/5", "/4"]);
    expect(store.size()).toEqual({ requests: 2, bodyBytes: 32 });
  });

  it("copies chunks: the agent reuses its buffers", () => {
    const store = new ExchangeStore(limits);
    const { exchange, observer } = store.begin(exchangeInfo());
    const chunk = Buffer.from("abcd");
    observer.requestBody?.(chunk);
    chunk.write("zzzz");
    observer.requestBody?.(chunk);
    expect(exchange.request.body.bytes().toString()).toBe("abcdzzzz");
  });

  it("reports an exchange when it starts, when the response head comes and when it ends", () => {
    const store = new ExchangeStore(limits);
    const seen: string[] = [];
    store.subscribe((e) => seen.push(e.kind === "exchange" ? `${e.exchange.response?.status ?? "-"} ${e.exchange.outcome ? "done" : "open"}` : e.kind));
    record(store, "/x");
    store.clear();
    expect(seen).toEqual(["- open", "200 open", "200 done", "cleared"]);
    expect(store.size()).toEqual({ requests: 0, bodyBytes: 0 });
  });

  it("stops counting and reporting an exchange dropped while in flight", () => {
    const store = new ExchangeStore({ ...limits, maxRequests: 1 });
    const first = store.begin(exchangeInfo({ path: "/slow" }));
    record(store, "/fast");
    const events: StoreEvent[] = [];
    store.subscribe((e) => events.push(e));
    first.observer.responseBody?.(Buffer.from("late bytes"));
    first.observer.end(outcome(200));
    expect(events).toEqual([]);
    expect(store.size()).toEqual({ requests: 1, bodyBytes: 0 });
    // Nor copies its bytes: a long download dropped from the history holds no memory.
    expect(first.exchange.responseBody.kept).toBe(0);
  });
});
