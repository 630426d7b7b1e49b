import type { BindingRecord } from "@onramp/registry";
import { describe, expect, it } from "vitest";
import { BindingView, digestOf, type ViewChange } from "./binding-view.js";

const binding = (edge: string, session = "s1"): BindingRecord => ({
  url: "https://foo.internal",
  host: "foo.internal",
  pooling: true,
  traffic_policy: "",
  policy_hash: "",
  edge,
  region: `r-${edge}`,
  agent_id: `agent-${edge}`,
  session_id: session,
  bind_id: "b1",
  upstream: "http://localhost:3000",
  bound_at: "",
});

function viewWithLog(): { view: BindingView; log: string[] } {
  const log: string[] = [];
  const view = new BindingView((c: ViewChange) => log.push(`${c.kind} ${c.key} ${c.binding.session_id}`));
  return { view, log };
}

describe("BindingView", () => {
  it("takes the newest revision whatever the order facts arrive in", () => {
    const { view, log } = viewWithLog();
    view.put("k", 5, binding("a"));
    view.put("k", 5, binding("a")); // the same fact from the other source
    view.remove("k", 7);
    view.put("k", 5, binding("a")); // a late duplicate of the put
    expect(log).toEqual(["up k s1", "down k s1"]);
    expect(view.get("k")).toBeUndefined();
    view.put("k", 9, binding("a", "s2")); // bound again later
    expect(log.at(-1)).toBe("up k s2");
  });

  it("ignores a delete older than what it holds", () => {
    const { view, log } = viewWithLog();
    view.put("k", 10, binding("a"));
    view.remove("k", 9);
    expect(view.get("k")).toBeDefined();
    expect(log).toEqual(["up k s1"]);
  });

  it("replaces one session's member by another's under the same key", () => {
    const { view, log } = viewWithLog();
    view.put("k", 1, binding("a", "s1"));
    view.put("k", 2, binding("a", "s2"));
    expect(log).toEqual(["up k s1", "down k s1", "up k s2"]);
  });

  it("holds back a dead edge's bindings and brings them back when it lives again", () => {
    const { view, log } = viewWithLog();
    view.put("ka", 1, binding("a"));
    view.put("kb", 2, binding("b"));
    view.setEdgeDead("b", true);
    view.put("kb2", 3, binding("b", "s9")); // learned while dead: not routed
    expect(log).toEqual(["up ka s1", "up kb s1", "down kb s1"]);
    view.setEdgeDead("b", false);
    expect(log.slice(3).sort()).toEqual(["up kb s1", "up kb2 s9"]);
  });

  it("resets to a listing, keeping what it learned after the listing's revision", () => {
    const { view } = viewWithLog();
    view.put("old", 3, binding("a"));
    view.put("new", 12, binding("a"));
    view.put("other", 4, binding("b"));
    view.reset([{ key: "listed", revision: 8, binding: binding("a") }], 10, "a");
    expect(view.get("old")).toBeUndefined();
    expect(view.get("new")).toBeDefined();
    expect(view.get("listed")).toBeDefined();
    expect(view.get("other")).toBeDefined(); // another edge's binding: not this snapshot's business
  });

  it("digests an edge's bindings independently of order", () => {
    const { view } = viewWithLog();
    view.put("k1", 1, binding("a"));
    view.put("k2", 2, binding("a"));
    expect(view.digest("a")).toBe(digestOf([{ key: "k2", revision: 2 }, { key: "k1", revision: 1 }]));
    expect(view.digest("a")).not.toBe(digestOf([{ key: "k1", revision: 1 }]));
  });
});
